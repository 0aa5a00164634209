#!/usr/bin/env python3
"""Seed an AWS API emulator (moto) with deliberate misconfigurations and
clean resources, for the `scan aws` tests and bench/aws.sh.

Usage: aws-seed.py ENDPOINT_URL     (uses boto3 from the palisade venv)

Every resource name says which side it is on: `bad-*` carries planted
problems, `good-*` must produce none of the findings the test checks for it.
Prints one JSON object with the ids the tests need (instance, snapshot,
security groups, key ids).
"""
import json
import sys

import boto3

REGION = "us-east-1"
OTHER_ACCOUNT = "999999999999"


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def seed(endpoint):
    out = {}
    iam = client("iam", endpoint)
    account = client("sts", endpoint).get_caller_identity()["Account"]
    out["account"] = account

    # --- IAM -------------------------------------------------------------
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireLowercaseCharacters=True)

    iam.create_user(UserName="bad-console-user")
    iam.create_login_profile(UserName="bad-console-user", Password="Initial-Passw0rd!")
    key = iam.create_access_key(UserName="bad-console-user")["AccessKey"]
    out["bad_key"] = key["AccessKeyId"]
    iam.create_access_key(UserName="bad-console-user")  # a second active key
    iam.attach_user_policy(UserName="bad-console-user", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    iam.create_group(GroupName="good-developers")
    readonly = iam.create_policy(
        PolicyName="good-readonly",
        PolicyDocument=doc([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]),
    )["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="good-developers", PolicyArn=readonly)
    iam.create_user(UserName="good-api-user")
    iam.add_user_to_group(GroupName="good-developers", UserName="good-api-user")

    admin = iam.create_policy(
        PolicyName="bad-full-admin",
        PolicyDocument=doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    )["Policy"]["Arn"]
    iam.create_policy(
        PolicyName="bad-escalation",
        PolicyDocument=doc([
            {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"},
        ]),
    )
    ec2_trust = doc([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}])
    iam.create_role(RoleName="bad-ops-admin", AssumeRolePolicyDocument=ec2_trust)
    iam.attach_role_policy(RoleName="bad-ops-admin", PolicyArn=admin)
    iam.create_role(
        RoleName="bad-vendor-role",
        AssumeRolePolicyDocument=doc([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]),
    )
    iam.create_role(
        RoleName="good-vendor-role",
        AssumeRolePolicyDocument=doc([{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "4b0e6c1d"}},
        }]),
    )
    iam.create_role(
        RoleName="bad-public-role",
        AssumeRolePolicyDocument=doc([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]),
    )
    iam.create_role(RoleName="good-support-role", AssumeRolePolicyDocument=doc([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]))
    iam.attach_role_policy(RoleName="good-support-role", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")

    # --- S3 --------------------------------------------------------------
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket="bad-public-bucket")
    s3.put_bucket_ownership_controls(Bucket="bad-public-bucket", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.put_bucket_acl(Bucket="bad-public-bucket", ACL="public-read")
    s3.put_bucket_policy(
        Bucket="bad-public-bucket",
        Policy=doc([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bad-public-bucket/*"}]),
    )

    # The log target of good-private-bucket; its own settings are not asserted.
    s3.create_bucket(Bucket="access-logs", ACL="log-delivery-write")
    s3.create_bucket(Bucket="good-private-bucket")
    s3.put_public_access_block(
        Bucket="good-private-bucket",
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
    )
    s3.put_bucket_encryption(
        Bucket="good-private-bucket",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"}}]},
    )
    s3.put_bucket_versioning(Bucket="good-private-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(
        Bucket="good-private-bucket",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "good-private-bucket/"}},
    )
    s3.put_bucket_ownership_controls(Bucket="good-private-bucket", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_policy(
        Bucket="good-private-bucket",
        Policy=doc([{
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::good-private-bucket", "arn:aws:s3:::good-private-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }]),
    )

    # --- EC2 / VPC ---------------------------------------------------------
    ec2 = client("ec2", endpoint)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    # moto's default VPC has no internet gateway; a real one does.
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    main_table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    bad_sg = ec2.create_security_group(GroupName="bad-ssh-open", Description="ssh from anywhere", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=bad_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        ],
    )
    wide_sg = ec2.create_security_group(GroupName="bad-wide-open", Description="everything", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=wide_sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    out["bad_wide_sg"] = wide_sg
    good_sg = ec2.create_security_group(GroupName="good-internal", Description="office only", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=good_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
    )
    out["bad_sg"], out["good_sg"] = bad_sg, good_sg
    image = ec2.describe_images()["Images"][0]["ImageId"]
    bad = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroupIds=[bad_sg])["Instances"][0]["InstanceId"]
    good = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SecurityGroupIds=[good_sg],
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
    )["Instances"][0]["InstanceId"]
    out["bad_instance"], out["good_instance"] = bad, good
    ami = ec2.create_image(InstanceId=bad, Name="bad-public-ami")["ImageId"]
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]})
    out["bad_ami"] = ami

    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    good_volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"])
    good_snapshot = ec2.create_snapshot(VolumeId=good_volume)["SnapshotId"]
    out["bad_volume"], out["good_volume"] = volume, good_volume
    out["bad_snapshot"], out["good_snapshot"] = snapshot, good_snapshot
    out["bad_eip"] = ec2.allocate_address(Domain="vpc")["AllocationId"]

    # --- Network ACLs: a wide-open security group behind a stateless ACL ---
    # One public subnet whose ACL lets in TCP 443 only (and replies out on
    # the ephemeral ports): the instance is exposed on 443 alone. Another
    # whose new ACL has only the default deny entries: not exposed at all.
    narrow_subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.96.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    closed_subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.97.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    narrow_acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=narrow_acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=narrow_acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=True,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 1024, "To": 65535})
    closed_acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for subnet, acl in ((narrow_subnet, narrow_acl), (closed_subnet, closed_acl)):
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
        current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"][0]
        association = next(a["NetworkAclAssociationId"] for a in current["Associations"] if a["SubnetId"] == subnet)
        ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)
    out["bad_nacl_instance"] = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=narrow_subnet, SecurityGroupIds=[wide_sg],
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
    )["Instances"][0]["InstanceId"]
    out["good_nacl_instance"] = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=closed_subnet, SecurityGroupIds=[wide_sg],
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
    )["Instances"][0]["InstanceId"]
    out["narrow_acl"] = narrow_acl

    # --- ELBv2: a public ALB serving plain HTTP; an internal one redirecting to HTTPS ---
    elb = client("elbv2", endpoint)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    web_sg = ec2.create_security_group(GroupName="bad-web-lb", Description="http from anywhere", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web_sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    targets = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    bad_lb = elb.create_load_balancer(
        Name="bad-web-lb", Subnets=subnets, SecurityGroups=[web_sg], Scheme="internet-facing", Type="application",
    )["LoadBalancers"][0]["LoadBalancerArn"]
    elb.create_listener(LoadBalancerArn=bad_lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": targets}])
    good_lb = elb.create_load_balancer(
        Name="good-internal-lb", Subnets=subnets, SecurityGroups=[good_sg], Scheme="internal", Type="application",
    )["LoadBalancers"][0]["LoadBalancerArn"]
    elb.create_listener(
        LoadBalancerArn=good_lb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )
    out["bad_lb"], out["good_lb"] = bad_lb, good_lb

    # --- KMS -------------------------------------------------------------
    kms = client("kms", endpoint)
    out["bad_key_id"] = kms.create_key(Description="bad: never rotated")["KeyMetadata"]["KeyId"]
    good_key = kms.create_key(Description="good: rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=good_key)
    out["good_key_id"] = good_key
    public_key = kms.create_key(
        Description="bad: anyone may decrypt",
        Policy=doc([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]),
    )["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=public_key)
    out["bad_public_key_id"] = public_key
    doomed = kms.create_key(Description="bad: scheduled for deletion")["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    out["bad_doomed_key_id"] = doomed

    # --- RDS -------------------------------------------------------------
    rds = client("rds", endpoint)
    rds.create_db_instance(
        DBInstanceIdentifier="bad-db", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="app", MasterUserPassword="not-a-real-password-1",
        PubliclyAccessible=True, StorageEncrypted=False, BackupRetentionPeriod=0,
        AutoMinorVersionUpgrade=False, MultiAZ=False, DeletionProtection=False,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="good-db", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="app", MasterUserPassword="not-a-real-password-2",
        PubliclyAccessible=False, StorageEncrypted=True, BackupRetentionPeriod=7,
        AutoMinorVersionUpgrade=True, MultiAZ=True, DeletionProtection=True,
    )
    rds.create_db_snapshot(DBSnapshotIdentifier="bad-db-snapshot", DBInstanceIdentifier="bad-db")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="bad-db-snapshot", AttributeName="restore", ValuesToAdd=["all"])
    rds.create_db_snapshot(DBSnapshotIdentifier="good-db-snapshot", DBInstanceIdentifier="good-db")

    # --- Lambda ------------------------------------------------------------
    import io
    import zipfile
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return 'ok'\n")
    role = iam.get_role(RoleName="bad-ops-admin")["Role"]["Arn"]
    lam = client("lambda", endpoint)
    lam.create_function(
        FunctionName="bad-function", Runtime="python3.8", Role=role, Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"DB_PASSWORD": "hunter2-hunter2-prod", "LOG_LEVEL": "debug"}},
    )
    lam.create_function_url_config(FunctionName="bad-function", AuthType="NONE")
    lam.add_permission(FunctionName="bad-function", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*")
    lam.create_function(
        FunctionName="good-function", Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"LOG_LEVEL": "info", "DB_PASSWORD_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:{account}:secret:db"}},
    )
    lam.create_function_url_config(FunctionName="good-function", AuthType="AWS_IAM")
    lam.add_permission(
        FunctionName="good-function", StatementId="uploads", Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::good-private-bucket",
    )

    # --- Detection: GuardDuty on (good); Config and Security Hub left off (bad) ---
    client("guardduty", endpoint).create_detector(Enable=True)

    # --- EKS: a public, unlogged, unencrypted 1.27 cluster; a private, logged, encrypted one ---
    eks = client("eks", endpoint)
    eks_role = iam.get_role(RoleName="good-support-role")["Role"]["Arn"]
    eks.create_cluster(
        name="bad-cluster", version="1.27", roleArn=eks_role,
        resourcesVpcConfig={"subnetIds": subnets, "endpointPublicAccess": True, "endpointPrivateAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]},
    )
    eks.create_cluster(
        name="good-cluster", version="1.31", roleArn=eks_role,
        resourcesVpcConfig={"subnetIds": subnets, "endpointPublicAccess": False, "endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": True}]},
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": f"arn:aws:kms:{REGION}:{account}:key/{good_key}"}}],
    )

    # --- Secrets Manager: a secret anyone may read, never rotated; a private one ---
    sm = client("secretsmanager", endpoint)
    bad_secret = sm.create_secret(Name="bad-secret", SecretString="not-a-real-secret")["ARN"]
    out["bad_secret"] = bad_secret
    sm.put_resource_policy(
        SecretId=bad_secret,
        ResourcePolicy=doc([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]),
    )
    good_secret = sm.create_secret(Name="good-secret", SecretString="not-a-real-secret-either")["ARN"]
    sm.put_resource_policy(
        SecretId=good_secret,
        ResourcePolicy=doc([{"Effect": "Allow", "Principal": {"AWS": role}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]),
    )
    rotator = lam.create_function(
        FunctionName="good-secret-rotator", Runtime="python3.12", Role=role, Handler="handler.handler", Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    try:
        sm.rotate_secret(SecretId=good_secret, RotationLambdaARN=rotator, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    except Exception as error:  # moto may try to run the function (needs Docker); rotation is recorded first
        print(f"rotate_secret: {error}", file=sys.stderr)

    # --- SNS and SQS: public, unencrypted ones; private, encrypted ones ---
    sns = client("sns", endpoint)
    bad_topic = sns.create_topic(Name="bad-topic")["TopicArn"]
    sns.set_topic_attributes(
        TopicArn=bad_topic, AttributeName="Policy",
        AttributeValue=doc([{"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": bad_topic}]),
    )
    sns.create_topic(Name="good-topic", Attributes={"KmsMasterKeyId": "alias/aws/sns"})
    sqs = client("sqs", endpoint)
    bad_queue = sqs.create_queue(QueueName="bad-queue", Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=bad_queue,
        Attributes={"Policy": doc([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*"}])},
    )
    sqs.create_queue(QueueName="good-queue", Attributes={"KmsMasterKeyId": "alias/aws/sqs"})

    # --- CloudTrail --------------------------------------------------------
    trail = client("cloudtrail", endpoint)
    s3.create_bucket(Bucket="bad-trail-logs")
    trail.create_trail(Name="bad-single-region", S3BucketName="bad-trail-logs")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(seed(sys.argv[1]), indent=1))
