#!/usr/bin/env python3
"""Generate a deterministic, realistic IaC corpus for benchmarking.

    python3 bench/gen_corpus.py OUT_DIR [--files N] [--seed S]
    python3 bench/gen_corpus.py OUT_DIR --subset-of CORPUS --files M

The mix is about 45% Terraform (.tf files grouped in module directories of 3-8
files: main.tf, variables.tf, outputs.tf and a few of versions.tf, locals.tf,
iam.tf, network.tf, ...), 20% CloudFormation templates (YAML with short-form
intrinsics, and JSON) and 35% Kubernetes manifests (multi-document YAML). Every
category mixes secure and insecure resources. Files are 40-200 lines.

The same N and seed always produce byte-identical files. `--subset-of` copies a
deterministic sample of whole units (a Terraform module directory with the
local modules it calls, or one template/manifest) from an existing corpus, with
the same category mix; it is used to time a slow tool on part of a corpus.

Python 3 standard library only.
"""

import argparse
import json
import os
import random
import re
import shutil
import sys

# ---------------------------------------------------------------------------
# Vocabulary

TEAMS = ["payments", "identity", "search", "platform", "data", "growth", "billing",
         "catalog", "checkout", "messaging", "analytics", "risk", "ledger", "media"]
SERVICES = ["orders", "invoices", "users", "sessions", "events", "reports", "assets",
            "uploads", "audit", "notifications", "inventory", "pricing", "profiles",
            "exports", "imports", "webhooks", "ledger", "metrics", "thumbnails", "feeds",
            "recommendations", "shipping", "refunds", "tokens", "sync", "archive"]
ENVS = ["dev", "staging", "prod", "qa", "sandbox"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
PURPOSES = ["logs", "backups", "artifacts", "exports", "media", "raw", "curated", "tmp",
            "archive", "static", "reports", "snapshots"]
DATA_CLASSES = ["public", "internal", "confidential", "restricted"]
AWS_SERVICES = ["lambda", "ec2", "ecs-tasks", "states", "events", "glue", "eks", "rds",
                "sagemaker", "codebuild"]
K8S_NAMESPACES = ["default", "payments", "identity", "search", "platform", "data",
                  "growth", "billing", "monitoring", "ingress", "jobs", "batch"]
K8S_CLUSTERS = ["prod-eu", "prod-us", "staging", "dev", "tools"]
IMAGES = ["nginx", "redis", "postgres", "node", "python", "golang", "envoyproxy/envoy",
          "grafana/grafana", "prom/prometheus", "bitnami/kafka", "busybox", "alpine",
          "haproxy", "memcached", "rabbitmq", "traefik", "fluent/fluent-bit", "otel/opentelemetry-collector"]
REGISTRY = "registry.internal.example.com"


def words(rng, k=1, pool=SERVICES):
    return "-".join(rng.choice(pool) for _ in range(k))


def sha(rng):
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def ident(s):
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def camel(s):
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]", s) if p)


# ---------------------------------------------------------------------------
# HCL formatting: align `=` in runs of attributes like `terraform fmt`.

_ATTR = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_-]*|\"[^\"]+\")\s*=\s(.*)$")


def fmt_hcl(text):
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = _ATTR.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        run = [m]
        j = i + 1
        while j < len(lines):
            m2 = _ATTR.match(lines[j])
            if not m2 or m2.group(1) != m.group(1):
                break
            run.append(m2)
            j += 1
            # a multi-line value ends the run (the lines after it are nested)
            if m2.group(3).rstrip().endswith(("{", "[", "(")):
                break
        width = max(len(r.group(2)) for r in run)
        for r in run:
            out.append("%s%s = %s" % (r.group(1), r.group(2).ljust(width), r.group(3)))
        i = j
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Terraform

COMMON_VARS = [
    ("environment", "Deployment environment (dev, staging, prod).", "string", None),
    ("name", "Service name, used as a prefix for every resource.", "string", None),
    ("region", "AWS region.", "string", None),
    ("tags", "Tags added to every resource.", "map(string)", None),
]


class TfModule:
    """State shared by the files of one Terraform module directory."""

    def __init__(self, rng, dirname, team, env, secure_bias):
        self.rng = rng
        self.dirname = dirname
        self.team = team
        self.env = env
        self.service = rng.choice(SERVICES)
        self.region = rng.choice(REGIONS)
        self.bias = secure_bias
        self.variables = {}   # name -> (description, type, default_hcl)
        self.var_order = []
        self.outputs = []     # (name, description, value, sensitive)
        self.names = set()
        self.calls = []       # sibling module directories this module calls

    def secure(self, p_shift=0.0):
        return self.rng.random() < min(1.0, max(0.0, self.bias + p_shift))

    def uniq(self, base):
        base = ident(base)
        name, k = base, 2
        while name in self.names:
            name = "%s_%d" % (base, k)
            k += 1
        self.names.add(name)
        return name

    def var(self, name, desc, typ, default):
        if name not in self.variables:
            self.variables[name] = (desc, typ, default)
            self.var_order.append(name)
        return "var." + name

    def out(self, name, desc, value, sensitive=False):
        self.outputs.append((name, desc, value, sensitive))

    # common variables used by many resources -------------------------------
    def v_kms(self):
        return self.var("kms_key_arn", "KMS key for encryption at rest.", "string",
                        '"arn:aws:kms:%s:%d:key/%s"' % (self.region, self.account, self.uuid()))

    def v_subnets(self):
        subs = ", ".join('"subnet-%s"' % self.hex(8) for _ in range(self.rng.randint(2, 3)))
        return self.var("subnet_ids", "Private subnets.", "list(string)", "[%s]" % subs)

    def v_vpc(self):
        return self.var("vpc_id", "VPC to deploy into.", "string", '"vpc-%s"' % self.hex(8))

    @property
    def account(self):
        if not hasattr(self, "_account"):
            self._account = self.rng.randint(100000000000, 999999999999)
        return self._account

    def hex(self, n):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def uuid(self):
        return "%s-%s-%s-%s-%s" % (self.hex(8), self.hex(4), self.hex(4), self.hex(4), self.hex(12))


def tf_tags(m, extra=None, indent="  "):
    if extra is None and m.rng.random() < 0.4:
        return "%stags = local.common_tags\n" % indent
    extra = extra or {"Name": '"${local.name_prefix}-%s"' % m.rng.choice(PURPOSES)}
    body = "".join("%s  %s = %s\n" % (indent, k, v) for k, v in extra.items())
    return "%stags = merge(local.common_tags, {\n%s%s})\n" % (indent, body, indent)


def tf_policy(statements, indent="  "):
    """jsonencode() of an IAM policy; statements are lists of (key, hcl value)."""
    pad = indent + "    "
    parts = []
    for st in statements:
        body = "".join("%s  %s = %s\n" % (pad, k, v) for k, v in st)
        parts.append("%s{\n%s%s},\n" % (pad, body, pad))
    return ("jsonencode({\n%s  Version = \"2012-10-17\"\n%s  Statement = [\n%s%s  ]\n%s})"
            % (indent, indent, "".join(parts), indent, indent))


def hlist(items):
    return "[" + ", ".join('"%s"' % i for i in items) + "]"


def tf_s3(m):
    n = m.uniq(m.rng.choice(PURPOSES))
    r = m.rng
    out = []
    if r.random() < 0.25:
        # for_each over a map of buckets
        vname = "%s_buckets" % n
        keys = r.sample(PURPOSES, r.randint(2, 4))
        default = "{\n" + "".join(
            '    %s = { purpose = "%s", versioning = %s }\n' % (k, r.choice(DATA_CLASSES), str(m.secure()).lower())
            for k in keys) + "  }"
        m.var(vname, "Buckets to create, by short name.",
              "map(object({\n    purpose    = string\n    versioning = bool\n  }))", default)
        out.append('resource "aws_s3_bucket" "%s" {\n  for_each = var.%s\n\n'
                   '  bucket        = "${local.name_prefix}-${each.key}"\n'
                   '  force_destroy = !local.is_prod\n\n'
                   '  tags = merge(local.common_tags, {\n    Purpose = each.value.purpose\n  })\n}\n' % (n, vname))
        out.append('resource "aws_s3_bucket_versioning" "%s" {\n  for_each = aws_s3_bucket.%s\n\n'
                   '  bucket = each.value.id\n  versioning_configuration {\n'
                   '    status = var.%s[each.key].versioning ? "Enabled" : "Suspended"\n  }\n}\n' % (n, n, vname))
        if m.secure():
            out.append('resource "aws_s3_bucket_server_side_encryption_configuration" "%s" {\n'
                       '  for_each = aws_s3_bucket.%s\n\n  bucket = each.value.id\n  rule {\n'
                       '    apply_server_side_encryption_by_default {\n      sse_algorithm = "aws:kms"\n'
                       '      kms_master_key_id = %s\n    }\n    bucket_key_enabled = true\n  }\n}\n'
                       % (n, n, m.v_kms()))
        if m.secure():
            out.append('resource "aws_s3_bucket_public_access_block" "%s" {\n  for_each = aws_s3_bucket.%s\n\n'
                       '  bucket                  = each.value.id\n  block_public_acls = true\n'
                       '  block_public_policy = true\n  ignore_public_acls = true\n'
                       '  restrict_public_buckets = true\n}\n' % (n, n))
        m.out("%s_bucket_arns" % n, "ARNs of the %s buckets." % n,
              "{ for k, b in aws_s3_bucket.%s : k => b.arn }" % n)
        return "\n".join(out)

    inline = r.random() < 0.2
    secure = m.secure()
    body = '  bucket = "${local.name_prefix}-%s"\n' % n.replace("_", "-")
    if not secure and r.random() < 0.5:
        body += '  acl    = local.is_prod ? "private" : "%s"\n' % r.choice(["public-read", "public-read-write"])
    if inline:
        body += "\n  versioning {\n    enabled = %s\n  }\n" % str(secure or r.random() < 0.3).lower()
        if secure:
            body += ("\n  server_side_encryption_configuration {\n    rule {\n"
                     "      apply_server_side_encryption_by_default {\n        sse_algorithm = \"AES256\"\n"
                     "      }\n    }\n  }\n")
        if r.random() < 0.5:
            body += ("\n  logging {\n    target_bucket = %s\n    target_prefix = \"s3/%s/\"\n  }\n"
                     % (m.var("log_bucket", "Bucket receiving access logs.", "string",
                              '"%s-%s-access-logs"' % (m.env, m.team)), n))
    body += "\n" + tf_tags(m, {"Name": '"${local.name_prefix}-%s"' % n.replace("_", "-"),
                               "DataClass": '"%s"' % r.choice(DATA_CLASSES)})
    out.append('resource "aws_s3_bucket" "%s" {\n%s}\n' % (n, body))
    if not inline:
        if secure or r.random() < 0.4:
            out.append('resource "aws_s3_bucket_versioning" "%s" {\n  bucket = aws_s3_bucket.%s.id\n'
                       '  versioning_configuration {\n    status = %s\n  }\n}\n'
                       % (n, n, '"Enabled"' if secure else m.var("enable_versioning", "Turn on bucket versioning.", "bool", "false") + ' ? "Enabled" : "Suspended"'))
        if secure or r.random() < 0.3:
            algo = r.choice(['"aws:kms"', '"AES256"']) if secure else '"AES256"'
            key = "\n      kms_master_key_id = %s" % m.v_kms() if algo == '"aws:kms"' else ""
            out.append('resource "aws_s3_bucket_server_side_encryption_configuration" "%s" {\n'
                       '  bucket = aws_s3_bucket.%s.id\n\n  rule {\n    apply_server_side_encryption_by_default {\n'
                       '      sse_algorithm = %s%s\n    }\n  }\n}\n' % (n, n, algo, key))
        if secure or r.random() < 0.2:
            v = "true" if secure else "false"
            out.append('resource "aws_s3_bucket_public_access_block" "%s" {\n  bucket = aws_s3_bucket.%s.id\n\n'
                       '  block_public_acls = %s\n  block_public_policy = %s\n  ignore_public_acls = %s\n'
                       '  restrict_public_buckets = %s\n}\n' % (n, n, v, v, v, v))
        if secure and r.random() < 0.5:
            out.append('resource "aws_s3_bucket_logging" "%s" {\n  bucket = aws_s3_bucket.%s.id\n\n'
                       '  target_bucket = %s\n  target_prefix = "s3/%s/"\n}\n'
                       % (n, n, m.var("log_bucket", "Bucket receiving access logs.", "string",
                                      '"%s-%s-access-logs"' % (m.env, m.team)), n))
        if r.random() < 0.35:
            days = r.choice([7, 14, 30, 90, 365])
            out.append('resource "aws_s3_bucket_lifecycle_configuration" "%s" {\n  bucket = aws_s3_bucket.%s.id\n\n'
                       '  rule {\n    id     = "expire-old"\n    status = "Enabled"\n\n    filter {\n'
                       '      prefix = "%s/"\n    }\n\n    expiration {\n      days = %d\n    }\n\n'
                       '    noncurrent_version_expiration {\n      noncurrent_days = %d\n    }\n  }\n}\n'
                       % (n, n, r.choice(PURPOSES), days, max(1, days // 2)))
        if r.random() < 0.35:
            if secure:
                st = [("Sid", '"DenyInsecureTransport"'), ("Effect", '"Deny"'), ("Principal", '"*"'),
                      ("Action", '"s3:*"'),
                      ("Resource", "[aws_s3_bucket.%s.arn, \"${aws_s3_bucket.%s.arn}/*\"]" % (n, n)),
                      ("Condition", '{ Bool = { "aws:SecureTransport" = "false" } }')]
            else:
                st = [("Sid", '"PublicRead"'), ("Effect", '"Allow"'), ("Principal", '"*"'),
                      ("Action", hlist(["s3:GetObject"])),
                      ("Resource", '"${aws_s3_bucket.%s.arn}/*"' % n)]
            out.append('resource "aws_s3_bucket_policy" "%s" {\n  bucket = aws_s3_bucket.%s.id\n'
                       '  policy = %s\n}\n' % (n, n, tf_policy([st])))
    m.out("%s_bucket_name" % n, "Name of the %s bucket." % n, "aws_s3_bucket.%s.id" % n)
    m.out("%s_bucket_arn" % n, "ARN of the %s bucket." % n, "aws_s3_bucket.%s.arn" % n)
    return "\n".join(out)


def tf_sg(m):
    r = m.rng
    n = m.uniq(r.choice(["web", "app", "db", "admin", "bastion", "cache", "api", "worker", "lb"]))
    secure = m.secure()
    ports = r.choice([[443], [80, 443], [22], [22, 3389], [5432], [6379], [8080, 8443], [3306]])
    cidr = hlist([r.choice(["10.0.0.0/8", "172.16.0.0/12", "10.%d.0.0/16" % r.randint(0, 255)])]) if secure \
        else hlist(["0.0.0.0/0"])
    out = ['resource "aws_security_group" "%s" {\n  name        = "${local.name_prefix}-%s"\n'
           '  description = "%s traffic for %s"\n  vpc_id      = %s\n'
           % (n, n.replace("_", "-"), n.replace("_", " ").title(), m.service, m.v_vpc())]
    style = r.random()
    if style < 0.5:
        pv = m.var("%s_ingress_ports" % n, "Ports open on the %s security group." % n, "list(number)",
                   "[%s]" % ", ".join(str(p) for p in ports))
        cv = m.var("%s_ingress_cidrs" % n, "CIDR blocks allowed in.", "list(string)", cidr)
        out.append('\n  dynamic "ingress" {\n    for_each = %s\n    content {\n'
                   '      description = "port ${ingress.value}"\n      from_port = ingress.value\n'
                   '      to_port = ingress.value\n      protocol = "tcp"\n      cidr_blocks = %s\n'
                   '    }\n  }\n' % (pv, cv))
    elif style < 0.8:
        for p in ports:
            out.append('\n  ingress {\n    description = "port %d"\n    from_port = %d\n    to_port = %d\n'
                       '    protocol = "tcp"\n    cidr_blocks = %s\n  }\n' % (p, p, p, cidr))
    out.append('\n  egress {\n    description = "all outbound"\n    from_port = 0\n    to_port = 0\n'
               '    protocol = "-1"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n\n')
    out.append(tf_tags(m))
    out.append("}\n")
    text = "".join(out)
    if style >= 0.8:
        for p in ports:
            rn = m.uniq("%s_%d" % (n, p))
            text += ('\nresource "aws_security_group_rule" "%s" {\n  type = "ingress"\n'
                     '  description = "%s from %s"\n  from_port = %d\n  to_port = %d\n  protocol = "tcp"\n'
                     '  cidr_blocks = %s\n  security_group_id = aws_security_group.%s.id\n}\n'
                     % (rn, p, "internal" if secure else "anywhere", p, p, cidr, n))
    m.out("%s_security_group_id" % n, "ID of the %s security group." % n, "aws_security_group.%s.id" % n)
    return text


def tf_rds(m):
    r = m.rng
    n = m.uniq(r.choice(["db", "primary", "orders_db", "reporting", "main", "replica"]))
    secure = m.secure()
    engine, ver, logs = r.choice([("postgres", "15.5", '["postgresql", "upgrade"]'),
                                  ("mysql", "8.0.35", '["audit", "error", "slowquery"]'),
                                  ("mariadb", "10.11.6", '["audit", "error"]')])
    size = r.choice([20, 50, 100, 200])
    sec = secure
    body = ['resource "aws_db_subnet_group" "%s" {\n  name       = "${local.name_prefix}-%s"\n'
            '  subnet_ids = %s\n\n%s}\n' % (n, n.replace("_", "-"), m.v_subnets(), tf_tags(m))]
    attrs = [
        ("identifier", '"${local.name_prefix}-%s"' % n.replace("_", "-")),
        ("engine", '"%s"' % engine),
        ("engine_version", '"%s"' % ver),
        ("instance_class", 'local.is_prod ? "db.r6g.large" : "db.t4g.micro"'),
        ("allocated_storage", str(size)),
        ("max_allocated_storage", str(size * 4)),
        ("db_name", '"%s"' % m.service.replace("-", "")),
        ("username", '"%s_admin"' % m.service.replace("-", "_")),
    ]
    if sec or r.random() < 0.5:
        attrs.append(("manage_master_user_password", "true"))
    else:
        attrs.append(("password", '"%s"' % r.choice(["Sup3rS3cret!", "changeme123", "P@ssw0rd-%d" % r.randint(10, 99)])))
    attrs += [
        ("db_subnet_group_name", "aws_db_subnet_group.%s.name" % n),
        ("storage_encrypted", str(sec or r.random() < 0.4).lower()),
        ("publicly_accessible", str(not sec and r.random() < 0.6).lower()),
        ("multi_az", "local.is_prod"),
        ("backup_retention_period", str(r.choice([7, 14, 35]) if sec else r.choice([0, 1]))),
        ("deletion_protection", str(sec).lower()),
        ("skip_final_snapshot", str(not sec).lower()),
        ("copy_tags_to_snapshot", "true"),
        ("auto_minor_version_upgrade", str(sec or r.random() < 0.5).lower()),
    ]
    if sec:
        attrs += [("kms_key_id", m.v_kms()),
                  ("iam_database_authentication_enabled", "true"),
                  ("performance_insights_enabled", "true"),
                  ("monitoring_interval", "60"),
                  ("enabled_cloudwatch_logs_exports", logs)]
    text = "".join("  %s = %s\n" % a for a in attrs)
    body.append('resource "aws_db_instance" "%s" {\n%s\n%s}\n' % (n, text, tf_tags(m)))
    m.out("%s_endpoint" % n, "Connection endpoint of %s." % n, "aws_db_instance.%s.endpoint" % n)
    return "\n".join(body)


def tf_iam(m):
    r = m.rng
    n = m.uniq(r.choice(["app", "worker", "deployer", "reader", "ingest", "exporter", "ci"]))
    svc = r.choice(AWS_SERVICES)
    secure = m.secure()
    out = ['resource "aws_iam_role" "%s" {\n  name = "${local.name_prefix}-%s"\n'
           '  assume_role_policy = %s\n\n%s}\n'
           % (n, n.replace("_", "-"),
              tf_policy([[("Effect", '"Allow"'), ("Principal", '{ Service = "%s.amazonaws.com" }' % svc),
                          ("Action", '"sts:AssumeRole"')]]), tf_tags(m))]
    svc_actions = r.choice([
        ("s3", ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], 'arn:aws:s3:::${local.name_prefix}-%s' % r.choice(PURPOSES)),
        ("sqs", ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"], "arn:aws:sqs:${var.region}:*:${local.name_prefix}-*"),
        ("dynamodb", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], "arn:aws:dynamodb:${var.region}:*:table/${local.name_prefix}-*"),
        ("kms", ["kms:Decrypt", "kms:GenerateDataKey"], "arn:aws:kms:${var.region}:*:key/*"),
    ])
    stmts = []
    if secure:
        stmts.append([("Sid", '"%sAccess"' % svc_actions[0].upper()), ("Effect", '"Allow"'),
                      ("Action", hlist(svc_actions[1])), ("Resource", '"%s"' % svc_actions[2])])
        stmts.append([("Sid", '"Logs"'), ("Effect", '"Allow"'),
                      ("Action", hlist(["logs:CreateLogStream", "logs:PutLogEvents"])),
                      ("Resource", '"arn:aws:logs:${var.region}:*:log-group:/aws/%s/${local.name_prefix}*"' % svc)])
    else:
        bad = r.choice(['"*"', '"%s:*"' % svc_actions[0], '["iam:*", "%s:*"]' % svc_actions[0]])
        stmts.append([("Effect", '"Allow"'), ("Action", bad), ("Resource", '"*"')])
        if r.random() < 0.5:
            stmts.append([("Effect", '"Allow"'), ("Action", hlist(["iam:PassRole", "sts:AssumeRole"])), ("Resource", '"*"')])
    if r.random() < 0.5:
        out.append('resource "aws_iam_role_policy" "%s" {\n  name = "%s-access"\n  role = aws_iam_role.%s.id\n'
                   '  policy = %s\n}\n' % (n, n.replace("_", "-"), n, tf_policy(stmts)))
    else:
        out.append('resource "aws_iam_policy" "%s" {\n  name        = "${local.name_prefix}-%s"\n'
                   '  description = "Access for the %s role."\n  policy = %s\n}\n'
                   % (n, n.replace("_", "-"), n, tf_policy(stmts)))
        out.append('resource "aws_iam_role_policy_attachment" "%s" {\n  role       = aws_iam_role.%s.name\n'
                   '  policy_arn = aws_iam_policy.%s.arn\n}\n' % (n, n, n))
    if not secure and r.random() < 0.25:
        u = m.uniq("%s_user" % n)
        out.append('resource "aws_iam_user" "%s" {\n  name = "${local.name_prefix}-%s"\n}\n' % (u, u.replace("_", "-")))
        out.append('resource "aws_iam_access_key" "%s" {\n  user = aws_iam_user.%s.name\n}\n' % (u, u))
        out.append('resource "aws_iam_user_policy" "%s" {\n  name = "%s-inline"\n  user = aws_iam_user.%s.name\n'
                   '  policy = %s\n}\n' % (u, u, u, tf_policy([[("Effect", '"Allow"'), ("Action", '"*"'), ("Resource", '"*"')]])))
    m.out("%s_role_arn" % n, "ARN of the %s role." % n, "aws_iam_role.%s.arn" % n)
    return "\n".join(out)


def tf_cloudtrail(m):
    r = m.rng
    n = m.uniq(r.choice(["audit", "trail", "org_trail", "management"]))
    secure = m.secure()
    lg = m.uniq("%s_logs" % n)
    ret = m.var("log_retention_days", "Log retention by environment.", "map(number)",
                "{\n    dev     = 7\n    staging = 30\n    prod    = %d\n  }" % r.choice([90, 365, 400]))
    out = ['resource "aws_cloudwatch_log_group" "%s" {\n  name              = "/aws/cloudtrail/${local.name_prefix}"\n'
           '  retention_in_days = lookup(%s, var.environment, 30)\n%s}\n'
           % (lg, ret, ("  kms_key_id        = %s\n" % m.v_kms()) if secure else "")]
    attrs = [("name", '"${local.name_prefix}-%s"' % n.replace("_", "-")),
             ("s3_bucket_name", m.var("trail_bucket", "Bucket for CloudTrail logs.", "string",
                                      '"%s-cloudtrail-%d"' % (m.team, m.account))),
             ("s3_key_prefix", '"%s"' % m.env),
             ("include_global_service_events", "true"),
             ("is_multi_region_trail", str(secure or r.random() < 0.5).lower()),
             ("enable_log_file_validation", str(secure).lower()),
             ("cloud_watch_logs_group_arn", '"${aws_cloudwatch_log_group.%s.arn}:*"' % lg),
             ("cloud_watch_logs_role_arn", m.var("cloudtrail_logs_role_arn", "Role CloudTrail assumes to write logs.",
                                                 "string", '"arn:aws:iam::%d:role/cloudtrail-logs"' % m.account))]
    if secure:
        attrs.append(("kms_key_id", m.v_kms()))
    text = "".join("  %s = %s\n" % a for a in attrs)
    if r.random() < 0.6:
        text += ('\n  event_selector {\n    read_write_type           = "All"\n    include_management_events = true\n\n'
                 '    data_resource {\n      type   = "AWS::S3::Object"\n      values = ["arn:aws:s3"]\n    }\n  }\n')
    out.append('resource "aws_cloudtrail" "%s" {\n%s\n%s}\n' % (n, text, tf_tags(m)))
    m.out("%s_trail_arn" % n, "ARN of the trail.", "aws_cloudtrail.%s.arn" % n)
    return "\n".join(out)


def tf_kms(m):
    r = m.rng
    n = m.uniq(r.choice(["data", "logs", "secrets", "backups", "app"]))
    secure = m.secure()
    out = ['resource "aws_kms_key" "%s" {\n  description             = "%s encryption key for %s"\n'
           '  deletion_window_in_days = %d\n  enable_key_rotation     = %s\n'
           % (n, n.title(), m.service, r.choice([7, 14, 30]), str(secure).lower())]
    if r.random() < 0.6:
        acct = m.var("account_id", "AWS account ID.", "string", '"%d"' % m.account)
        st = [[("Sid", '"RootAccess"'), ("Effect", '"Allow"'),
               ("Principal", '{ AWS = "arn:aws:iam::${%s}:root" }' % acct), ("Action", '"kms:*"'), ("Resource", '"*"')]]
        if not secure and r.random() < 0.5:
            st.append([("Sid", '"Everyone"'), ("Effect", '"Allow"'), ("Principal", '{ AWS = "*" }'),
                       ("Action", hlist(["kms:Decrypt", "kms:Encrypt"])), ("Resource", '"*"')])
        out.append("  policy = %s\n" % tf_policy(st))
    out.append("\n%s}\n" % tf_tags(m))
    text = "".join(out)
    text += ('\nresource "aws_kms_alias" "%s" {\n  name          = "alias/${local.name_prefix}-%s"\n'
             '  target_key_id = aws_kms_key.%s.key_id\n}\n' % (n, n.replace("_", "-"), n))
    m.out("%s_key_arn" % n, "ARN of the %s key." % n, "aws_kms_key.%s.arn" % n)
    return text


def tf_ebs(m):
    r = m.rng
    n = m.uniq(r.choice(["data", "scratch", "cache", "journal"]))
    secure = m.secure()
    cnt = m.var("instance_count", "Number of instances.", "number", str(r.randint(1, 4)))
    azs = m.var("availability_zones", "Availability zones.", "list(string)",
                hlist(["%s%s" % (m.region, z) for z in "abc"]))
    text = ('resource "aws_ebs_volume" "%s" {\n  count = %s\n\n  availability_zone = element(%s, count.index)\n'
            '  size = %d\n  type = "%s"\n  encrypted = %s\n%s\n'
            '  tags = merge(local.common_tags, {\n    Name = "${local.name_prefix}-%s-${count.index}"\n  })\n}\n'
            % (n, cnt, azs, r.choice([50, 100, 250, 500]), r.choice(["gp3", "gp2", "io2"]),
               str(secure).lower(), ("  kms_key_id = %s\n" % m.v_kms()) if secure and r.random() < 0.6 else "",
               n.replace("_", "-")))
    if r.random() < 0.2 and "this" not in m.names:
        text += '\nresource "aws_ebs_encryption_by_default" "this" {\n  enabled = %s\n}\n' % str(secure).lower()
        m.names.add("this")
    m.out("%s_volume_ids" % n, "IDs of the %s volumes." % n, "aws_ebs_volume.%s[*].id" % n)
    return text


def tf_sqs(m):
    r = m.rng
    n = m.uniq(r.choice(["jobs", "events", "tasks", "ingest", "outbox", "notifications"]))
    secure = m.secure()
    names = r.sample(SERVICES, r.randint(1, 3))
    qv = m.var("%s_queues" % n, "Queues to create.", "list(string)", hlist(names))
    enc = ""
    if secure:
        enc = r.choice(["  sqs_managed_sse_enabled = true\n", "  kms_master_key_id = %s\n" % m.v_kms()])
    elif r.random() < 0.4:
        enc = "  sqs_managed_sse_enabled = false\n"
    text = ('resource "aws_sqs_queue" "%s_dlq" {\n  name                      = "${local.name_prefix}-%s-dlq"\n'
            '  message_retention_seconds = 1209600\n%s\n%s}\n\n' % (n, n.replace("_", "-"), enc, tf_tags(m)))
    text += ('resource "aws_sqs_queue" "%s" {\n  for_each = toset(%s)\n\n  name = "${local.name_prefix}-${each.key}"\n'
             '  visibility_timeout_seconds = %d\n  message_retention_seconds = %d\n  receive_wait_time_seconds = 20\n%s'
             '  redrive_policy = jsonencode({\n    deadLetterTargetArn = aws_sqs_queue.%s_dlq.arn\n    maxReceiveCount     = %d\n  })\n\n%s}\n'
             % (n, qv, r.choice([30, 60, 300]), r.choice([86400, 345600, 1209600]), enc, n, r.randint(3, 10), tf_tags(m)))
    if not secure and r.random() < 0.4:
        text += ('\nresource "aws_sqs_queue_policy" "%s" {\n  for_each  = aws_sqs_queue.%s\n  queue_url = each.value.id\n'
                 '  policy = %s\n}\n' % (n, n, tf_policy([[("Effect", '"Allow"'), ("Principal", '"*"'),
                                                         ("Action", '"sqs:*"'), ("Resource", "each.value.arn")]])))
    m.out("%s_queue_urls" % n, "Queue URLs.", "{ for k, q in aws_sqs_queue.%s : k => q.url }" % n)
    return text


def tf_sns(m):
    r = m.rng
    n = m.uniq(r.choice(["alerts", "events", "alarms", "deploys"]))
    secure = m.secure()
    text = ('resource "aws_sns_topic" "%s" {\n  name = "${local.name_prefix}-%s"\n%s\n%s}\n'
            % (n, n.replace("_", "-"), ('  kms_master_key_id = "alias/aws/sns"\n' if secure else ""), tf_tags(m)))
    for i in range(r.randint(0, 2)):
        s = m.uniq("%s_sub" % n)
        proto, ep = r.choice([("https", '"https://hooks.example.com/%s/%s"' % (m.team, m.hex(12))),
                              ("http", '"http://alerts.example.com/%s"' % m.hex(8)),
                              ("email", '"%s-oncall@example.com"' % m.team),
                              ("sqs", '"arn:aws:sqs:%s:%d:%s-%s"' % (m.region, m.account, m.env, r.choice(SERVICES)))])
        text += ('\nresource "aws_sns_topic_subscription" "%s" {\n  topic_arn = aws_sns_topic.%s.arn\n'
                 '  protocol  = "%s"\n  endpoint  = %s\n}\n' % (s, n, proto, ep))
    m.out("%s_topic_arn" % n, "ARN of the %s topic." % n, "aws_sns_topic.%s.arn" % n)
    return text


def tf_lambda(m):
    r = m.rng
    n = m.uniq(r.choice(["handler", "processor", "resizer", "webhook", "cron", "authorizer"]))
    secure = m.secure()
    runtime = r.choice(["python3.12", "python3.11", "nodejs20.x", "nodejs18.x", "java21", "provided.al2023"])
    role = m.uniq("%s_lambda" % n)
    text = ('resource "aws_iam_role" "%s" {\n  name = "${local.name_prefix}-%s"\n  assume_role_policy = %s\n}\n\n'
            % (role, role.replace("_", "-"), tf_policy([[("Effect", '"Allow"'),
                                                          ("Principal", '{ Service = "lambda.amazonaws.com" }'),
                                                          ("Action", '"sts:AssumeRole"')]])))
    env = ['      STAGE = var.environment', '      LOG_LEVEL = local.is_prod ? "info" : "debug"',
           '      TABLE_NAME = "${local.name_prefix}-%s"' % r.choice(SERVICES)]
    if not secure and r.random() < 0.5:
        env.append('      %s = "%s"' % (r.choice(["DB_PASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY"]),
                                        r.choice(["hunter2hunter2", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY%s" % m.hex(6),
                                                  "sk_live_%s" % m.hex(24)])))
    attrs = [("function_name", '"${local.name_prefix}-%s"' % n.replace("_", "-")),
             ("role", "aws_iam_role.%s.arn" % role),
             ("handler", '"%s"' % ("index.handler" if "node" in runtime else "main.handler")),
             ("runtime", '"%s"' % runtime),
             ("filename", '"${path.module}/build/%s.zip"' % n),
             ("memory_size", str(r.choice([128, 256, 512, 1024]))),
             ("timeout", str(r.choice([10, 30, 60, 300])))]
    if secure:
        attrs += [("reserved_concurrent_executions", str(r.choice([5, 10, 50]))), ("kms_key_arn", m.v_kms())]
    text += 'resource "aws_lambda_function" "%s" {\n%s\n' % (n, "".join("  %s = %s\n" % a for a in attrs))
    text += "  environment {\n    variables = {\n%s\n    }\n  }\n" % "\n".join(env)
    text += '\n  tracing_config {\n    mode = "%s"\n  }\n' % ("Active" if secure else "PassThrough")
    if secure:
        sg = m.var("lambda_security_group_ids", "Security groups for functions.", "list(string)",
                   '["sg-%s"]' % m.hex(8))
        text += "\n  vpc_config {\n    subnet_ids         = %s\n    security_group_ids = %s\n  }\n" % (m.v_subnets(), sg)
        text += ('\n  dead_letter_config {\n    target_arn = %s\n  }\n'
                 % m.var("dlq_arn", "Dead-letter queue.", "string",
                         '"arn:aws:sqs:%s:%d:%s-dlq"' % (m.region, m.account, m.service)))
    text += "\n%s}\n" % tf_tags(m)
    if r.random() < 0.3:
        text += ('\nresource "aws_lambda_function_url" "%s" {\n  function_name      = aws_lambda_function.%s.function_name\n'
                 '  authorization_type = "%s"\n}\n' % (n, n, "AWS_IAM" if secure else "NONE"))
    m.out("%s_function_arn" % n, "ARN of the %s function." % n, "aws_lambda_function.%s.arn" % n)
    return text


def tf_eks(m):
    r = m.rng
    n = m.uniq(r.choice(["main", "platform", "workloads", "cluster"]))
    secure = m.secure()
    role = m.var("cluster_role_arn", "IAM role for the EKS control plane.", "string",
                 '"arn:aws:iam::%d:role/eks-cluster"' % m.account)
    text = ('resource "aws_eks_cluster" "%s" {\n  name     = "${local.name_prefix}-%s"\n  role_arn = %s\n'
            '  version  = "%s"\n\n  vpc_config {\n    subnet_ids              = %s\n'
            '    endpoint_private_access = true\n    endpoint_public_access  = %s\n'
            % (n, n.replace("_", "-"), role, r.choice(["1.28", "1.29", "1.30", "1.31"]), m.v_subnets(),
               str(not secure).lower()))
    if not secure:
        text += '    public_access_cidrs     = ["0.0.0.0/0"]\n'
    text += "  }\n"
    if secure:
        text += ('\n  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]\n'
                 '\n  encryption_config {\n    provider {\n      key_arn = %s\n    }\n    resources = ["secrets"]\n  }\n'
                 % m.v_kms())
    elif r.random() < 0.5:
        text += '\n  enabled_cluster_log_types = ["api"]\n'
    text += "\n%s}\n" % tf_tags(m)
    ng = m.uniq("%s_nodes" % n)
    text += ('\nresource "aws_eks_node_group" "%s" {\n  cluster_name    = aws_eks_cluster.%s.name\n'
             '  node_group_name = "%s"\n  node_role_arn   = %s\n  subnet_ids      = %s\n'
             '  instance_types  = ["%s"]\n\n  scaling_config {\n    desired_size = %d\n    max_size     = %d\n'
             '    min_size     = 1\n  }\n%s\n%s}\n'
             % (ng, n, ng.replace("_", "-"),
                m.var("node_role_arn", "IAM role for worker nodes.", "string",
                      '"arn:aws:iam::%d:role/eks-nodes"' % m.account),
                m.v_subnets(), r.choice(["m6i.large", "m7g.xlarge", "c6i.2xlarge", "t3.large"]),
                r.randint(2, 5), r.randint(6, 20),
                ("" if secure else '\n  remote_access {\n    ec2_ssh_key = "%s-admin"\n  }\n' % m.team),
                tf_tags(m)))
    m.out("%s_cluster_endpoint" % n, "Kubernetes API endpoint.", "aws_eks_cluster.%s.endpoint" % n)
    return text


def tf_ecr(m):
    r = m.rng
    secure = m.secure()
    if r.random() < 0.4:
        n = m.uniq("repos")
        rv = m.var("repositories", "Container repositories to create.", "set(string)",
                   hlist(r.sample(SERVICES, r.randint(2, 5))))
        head = '  for_each = %s\n\n  name = "${var.name}/${each.key}"\n' % rv
        ref = "each.value.name"
        outv = "{ for k, repo in aws_ecr_repository.%s : k => repo.repository_url }" % n
    else:
        n = m.uniq(r.choice(SERVICES))
        head = '  name = "${var.name}/%s"\n' % n.replace("_", "-")
        ref = "aws_ecr_repository.%s.name" % n
        outv = "aws_ecr_repository.%s.repository_url" % n
    text = ('resource "aws_ecr_repository" "%s" {\n%s  image_tag_mutability = "%s"\n\n'
            '  image_scanning_configuration {\n    scan_on_push = %s\n  }\n'
            % (n, head, "IMMUTABLE" if secure else "MUTABLE", str(secure or r.random() < 0.3).lower()))
    if secure:
        text += ('\n  encryption_configuration {\n    encryption_type = "KMS"\n    kms_key         = %s\n  }\n'
                 % m.v_kms())
    text += "\n%s}\n" % tf_tags(m)
    if r.random() < 0.5:
        lp = "aws_ecr_repository.%s" % n if "each" not in ref else None
        text += ('\nresource "aws_ecr_lifecycle_policy" "%s" {\n%s  repository = %s\n  policy = jsonencode({\n'
                 '    rules = [{\n      rulePriority = 1\n      description  = "keep last %d images"\n'
                 '      selection = {\n        tagStatus   = "any"\n        countType   = "imageCountMoreThan"\n'
                 '        countNumber = %d\n      }\n      action = { type = "expire" }\n    }]\n  })\n}\n'
                 % (n, ("  for_each = aws_ecr_repository.%s\n\n" % n) if lp is None else "",
                    "each.value.name" if lp is None else lp + ".name",
                    r.choice([10, 20, 50]), r.choice([10, 20, 50])))
    m.out("%s_repository_url" % n, "Repository URL.", outv)
    return text


def tf_alb(m):
    r = m.rng
    n = m.uniq(r.choice(["public", "internal", "api", "web"]))
    secure = m.secure()
    vpc = m.v_vpc()
    pub = m.var("public_subnet_ids", "Public subnets for load balancers.", "list(string)",
                "[%s]" % ", ".join('"subnet-%s"' % m.hex(8) for _ in range(2)))
    text = ('resource "aws_lb" "%s" {\n  name               = substr("${local.name_prefix}-%s", 0, 32)\n'
            '  internal           = %s\n  load_balancer_type = "application"\n  subnets            = %s\n'
            '  security_groups    = [%s]\n  drop_invalid_header_fields = %s\n  enable_deletion_protection = %s\n'
            % (n, n.replace("_", "-"), str(n == "internal").lower(), pub,
               m.var("lb_security_group_id", "Security group of the load balancer.", "string", '"sg-%s"' % m.hex(8)),
               str(secure).lower(), "local.is_prod"))
    if secure:
        text += ('\n  access_logs {\n    bucket  = %s\n    prefix  = "alb/%s"\n    enabled = true\n  }\n'
                 % (m.var("log_bucket", "Bucket receiving access logs.", "string",
                          '"%s-%s-access-logs"' % (m.env, m.team)), n))
    text += "\n%s}\n" % tf_tags(m)
    port = r.choice([80, 8080, 3000, 8000])
    text += ('\nresource "aws_lb_target_group" "%s" {\n  name     = substr("${local.name_prefix}-%s", 0, 32)\n'
             '  port     = %d\n  protocol = "HTTP"\n  vpc_id   = %s\n\n  health_check {\n    path                = "%s"\n'
             '    healthy_threshold   = 3\n    unhealthy_threshold = 3\n    interval            = 15\n  }\n}\n'
             % (n, n.replace("_", "-"), port, vpc, r.choice(["/healthz", "/health", "/ready", "/status"])))
    cert = m.var("certificate_arn", "ACM certificate for HTTPS listeners.", "string",
                 '"arn:aws:acm:%s:%d:certificate/%s"' % (m.region, m.account, m.uuid()))
    text += ('\nresource "aws_lb_listener" "%s_https" {\n  load_balancer_arn = aws_lb.%s.arn\n  port              = 443\n'
             '  protocol          = "HTTPS"\n  ssl_policy        = "%s"\n  certificate_arn   = %s\n\n'
             '  default_action {\n    type             = "forward"\n    target_group_arn = aws_lb_target_group.%s.arn\n  }\n}\n'
             % (n, n, "ELBSecurityPolicy-TLS13-1-2-2021-06" if secure else r.choice(["ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS-1-0-2015-04"]), cert, n))
    if secure:
        text += ('\nresource "aws_lb_listener" "%s_http" {\n  load_balancer_arn = aws_lb.%s.arn\n  port              = 80\n'
                 '  protocol          = "HTTP"\n\n  default_action {\n    type = "redirect"\n\n    redirect {\n'
                 '      port        = "443"\n      protocol    = "HTTPS"\n      status_code = "HTTP_301"\n    }\n  }\n}\n'
                 % (n, n))
    else:
        text += ('\nresource "aws_lb_listener" "%s_http" {\n  load_balancer_arn = aws_lb.%s.arn\n  port              = 80\n'
                 '  protocol          = "HTTP"\n\n  default_action {\n    type             = "forward"\n'
                 '    target_group_arn = aws_lb_target_group.%s.arn\n  }\n}\n' % (n, n, n))
    m.names.update({n + "_https", n + "_http"})
    m.out("%s_lb_dns_name" % n, "DNS name of the %s load balancer." % n, "aws_lb.%s.dns_name" % n)
    return text


def tf_instance(m):
    r = m.rng
    n = m.uniq(r.choice(["bastion", "worker", "app", "runner", "proxy"]))
    secure = m.secure()
    cnt = m.var("instance_count", "Number of instances.", "number", str(r.randint(1, 4)))
    ami = m.var("ami_id", "AMI for instances.", "string", '"ami-%s"' % m.hex(17))
    itype = m.var("instance_type", "Instance type.", "string", '"%s"' % r.choice(["t3.micro", "t3.medium", "m6i.large", "c6g.large"]))
    ud = ("#!/bin/bash\nset -euo pipefail\nyum install -y amazon-cloudwatch-agent\n"
          "systemctl enable --now amazon-cloudwatch-agent\necho \"${var.environment}\" > /etc/environment-name\n")
    if not secure and r.random() < 0.5:
        ud += "export AWS_ACCESS_KEY_ID=AKIA%s\nexport AWS_SECRET_ACCESS_KEY=%s\n" % (m.hex(16).upper(), m.hex(40))
    text = ('resource "aws_instance" "%s" {\n  count = %s\n\n  ami                         = %s\n'
            '  instance_type               = %s\n  subnet_id                   = element(%s, count.index)\n'
            '  associate_public_ip_address = %s\n  monitoring                  = %s\n  ebs_optimized               = true\n'
            % (n, cnt, ami, itype, m.v_subnets(), str(not secure and r.random() < 0.6).lower(), str(secure).lower()))
    text += ('\n  metadata_options {\n    http_endpoint = "enabled"\n    http_tokens   = "%s"\n  }\n'
             % ("required" if secure else "optional"))
    text += ('\n  root_block_device {\n    volume_size = %d\n    volume_type = "gp3"\n    encrypted   = %s\n  }\n'
             % (r.choice([20, 30, 50, 100]), str(secure or r.random() < 0.3).lower()))
    text += "\n  user_data = <<-EOF\n%s  EOF\n" % "".join("    " + l + "\n" for l in ud.rstrip("\n").split("\n"))
    text += ('\n  tags = merge(local.common_tags, {\n    Name = "${local.name_prefix}-%s-${count.index}"\n  })\n}\n'
             % n.replace("_", "-"))
    m.out("%s_private_ips" % n, "Private IPs of the %s instances." % n, "aws_instance.%s[*].private_ip" % n)
    return text


def tf_dynamodb(m):
    r = m.rng
    n = m.uniq(r.choice(SERVICES))
    secure = m.secure()
    text = ('resource "aws_dynamodb_table" "%s" {\n  name         = "${local.name_prefix}-%s"\n'
            '  billing_mode = "PAY_PER_REQUEST"\n  hash_key     = "pk"\n  range_key    = "sk"\n\n'
            '  attribute {\n    name = "pk"\n    type = "S"\n  }\n\n  attribute {\n    name = "sk"\n    type = "S"\n  }\n\n'
            '  point_in_time_recovery {\n    enabled = %s\n  }\n'
            % (n, n.replace("_", "-"), str(secure or r.random() < 0.3).lower()))
    if secure:
        text += '\n  server_side_encryption {\n    enabled     = true\n    kms_key_arn = %s\n  }\n' % m.v_kms()
    if r.random() < 0.5:
        text += '\n  ttl {\n    attribute_name = "expires_at"\n    enabled        = true\n  }\n'
    text += "\n%s}\n" % tf_tags(m)
    m.out("%s_table_name" % n, "Name of the %s table." % n, "aws_dynamodb_table.%s.name" % n)
    return text


def tf_loggroup(m):
    r = m.rng
    n = m.uniq("%s_logs" % r.choice(["app", "api", "worker", "vpc_flow", "ecs"]))
    secure = m.secure()
    text = ('resource "aws_cloudwatch_log_group" "%s" {\n  name              = "/%s/${local.name_prefix}/%s"\n'
            '  retention_in_days = %s\n%s%s}\n'
            % (n, r.choice(["aws/ecs", "app", "aws/lambda"]), n.replace("_", "-"),
               str(r.choice([30, 90, 365])) if secure else r.choice(["0", "1", "3"]),
               ("  kms_key_id        = %s\n" % m.v_kms()) if secure else "", tf_tags(m)))
    if r.random() < 0.4:
        a = m.uniq("%s_errors" % n)
        text += ('\nresource "aws_cloudwatch_metric_alarm" "%s" {\n  alarm_name          = "${local.name_prefix}-%s"\n'
                 '  comparison_operator = "GreaterThanThreshold"\n  evaluation_periods  = 2\n'
                 '  metric_name         = "Errors"\n  namespace           = "AWS/Lambda"\n  period              = 300\n'
                 '  statistic           = "Sum"\n  threshold           = %d\n  alarm_description   = "Too many errors"\n}\n'
                 % (a, a.replace("_", "-"), r.choice([1, 5, 10, 50])))
    m.out("%s_log_group" % n, "Log group name.", "aws_cloudwatch_log_group.%s.name" % n)
    return text


def tf_vpc(m):
    r = m.rng
    n = m.uniq("main")
    secure = m.secure()
    b = r.randint(0, 250)
    text = ('resource "aws_vpc" "%s" {\n  cidr_block           = "10.%d.0.0/16"\n  enable_dns_support   = true\n'
            '  enable_dns_hostnames = true\n\n%s}\n' % (n, b, tf_tags(m)))
    text += ('\nresource "aws_subnet" "%s_private" {\n  count = 2\n\n  vpc_id            = aws_vpc.%s.id\n'
             '  cidr_block        = cidrsubnet(aws_vpc.%s.cidr_block, 8, count.index)\n'
             '  availability_zone = element(%s, count.index)\n  map_public_ip_on_launch = %s\n\n%s}\n'
             % (n, n, n, m.var("availability_zones", "Availability zones.", "list(string)",
                               hlist(["%s%s" % (m.region, z) for z in "abc"])),
                str(not secure).lower(), tf_tags(m)))
    if secure:
        text += ('\nresource "aws_flow_log" "%s" {\n  vpc_id          = aws_vpc.%s.id\n  traffic_type    = "ALL"\n'
                 '  log_destination = %s\n  iam_role_arn    = %s\n}\n'
                 % (n, n, m.var("flow_log_destination", "CloudWatch log group ARN for VPC flow logs.", "string",
                                '"arn:aws:logs:%s:%d:log-group:flow-logs"' % (m.region, m.account)),
                    m.var("flow_log_role_arn", "Role used by VPC flow logs.", "string",
                          '"arn:aws:iam::%d:role/flow-logs"' % m.account)))
    text += ('\nresource "aws_default_security_group" "%s" {\n  vpc_id = aws_vpc.%s.id\n%s}\n'
             % (n, n, "" if secure else
                '\n  ingress {\n    protocol  = -1\n    self      = true\n    from_port = 0\n    to_port   = 0\n  }\n'))
    m.names.update({n + "_private"})
    m.out("%s_vpc_id" % n, "VPC ID.", "aws_vpc.%s.id" % n)
    m.out("%s_private_subnet_ids" % n, "Private subnet IDs.", "aws_subnet.%s_private[*].id" % n)
    return text


def tf_data(m):
    r = m.rng
    n = m.uniq(r.choice(["assume", "read_only", "publish", "decrypt"]))
    secure = m.secure()
    text = ""
    if "current" not in m.names:
        m.names.add("current")
        text += 'data "aws_caller_identity" "current" {}\n\ndata "aws_region" "current" {}\n\n'
        text += 'data "aws_availability_zones" "available" {\n  state = "available"\n}\n\n'
    acts = r.choice([["s3:GetObject", "s3:ListBucket"], ["sns:Publish"], ["kms:Decrypt"], ["sqs:SendMessage"]])
    text += ('data "aws_iam_policy_document" "%s" {\n  statement {\n    sid     = "%s"\n    effect  = "Allow"\n'
             '    actions = %s\n    resources = %s\n'
             % (n, camel(n), hlist(acts) if secure else '["*"]',
                '["arn:aws:s3:::${local.name_prefix}-*"]' if secure else '["*"]'))
    if secure:
        text += ('\n    condition {\n      test     = "StringEquals"\n      variable = "aws:PrincipalAccount"\n'
                 '      values   = [data.aws_caller_identity.current.account_id]\n    }\n')
    text += "  }\n}\n"
    if r.random() < 0.5:
        text += ('\ndata "aws_subnets" "%s_private" {\n  filter {\n    name   = "vpc-id"\n    values = [%s]\n  }\n\n'
                 '  tags = {\n    Tier = "private"\n  }\n}\n' % (n, m.v_vpc()))
    m.out("%s_policy_json" % n, "Policy document.", "data.aws_iam_policy_document.%s.json" % n)
    return text


TF_CATEGORIES = {
    "main.tf": [tf_s3, tf_sg, tf_rds, tf_iam, tf_lambda, tf_sqs, tf_kms, tf_alb, tf_instance, tf_dynamodb],
    "storage.tf": [tf_s3, tf_s3, tf_ebs, tf_dynamodb, tf_rds],
    "iam.tf": [tf_iam, tf_iam, tf_kms],
    "network.tf": [tf_sg, tf_vpc, tf_alb, tf_sg],
    "compute.tf": [tf_instance, tf_lambda, tf_eks, tf_ecr, tf_ebs],
    "monitoring.tf": [tf_cloudtrail, tf_loggroup, tf_sns, tf_loggroup],
    "queues.tf": [tf_sqs, tf_sns, tf_sqs],
    "security.tf": [tf_kms, tf_sg, tf_iam, tf_cloudtrail],
    "data.tf": [tf_data],
}
TF_EXTRA_FILES = ["versions.tf", "locals.tf", "storage.tf", "iam.tf", "network.tf", "compute.tf",
                  "monitoring.tf", "queues.tf", "security.tf", "data.tf"]


def target_lines(rng):
    # most real files are 50-120 lines, a tail up to 200
    return int(min(195, max(42, rng.triangular(40, 200, 75))))


def fill(m, gens, target, prefix=""):
    text = prefix
    tries = 0
    while text.count("\n") < target and tries < 12:
        tries += 1
        block = m.rng.choice(gens)(m)
        if text.count("\n") + block.count("\n") > 200 and text.count("\n") >= 40:
            break
        text += ("\n" if text else "") + block
    return text


def tf_versions(m):
    r = m.rng
    text = ('terraform {\n  required_version = ">= 1.%d"\n\n  required_providers {\n    aws = {\n'
            '      source  = "hashicorp/aws"\n      version = "~> %d.0"\n    }\n%s  }\n%s}\n\n'
            'provider "aws" {\n  region = var.region\n\n  default_tags {\n    tags = {\n'
            '      Team      = "%s"\n      CostCenter = "%s"\n    }\n  }\n}\n'
            % (r.choice([3, 5, 6, 7]), r.choice([4, 5]),
               "" if r.random() < 0.5 else
               '    random = {\n      source  = "hashicorp/random"\n      version = "~> 3.6"\n    }\n'
               '    tls = {\n      source  = "hashicorp/tls"\n      version = "~> 4.0"\n    }\n',
               "" if r.random() < 0.3 else
               '\n  backend "s3" {\n    bucket         = "%s-tfstate"\n    key            = "%s/%s.tfstate"\n'
               '    region         = "%s"\n    dynamodb_table = "%s-tflock"\n    encrypt        = true\n  }\n'
               % (m.team, m.env, m.service, m.region, m.team), m.team, "cc-%04d" % r.randint(0, 9999)))
    for alias, region in r.sample([("us_east_1", "us-east-1"), ("replica", r.choice(REGIONS)), ("audit", "us-west-2"),
                                   ("shared", r.choice(REGIONS))], r.randint(1, 3) if text.count("\n") > 30 else 3):
        text += ('\nprovider "aws" {\n  alias  = "%s"\n  region = "%s"\n\n  assume_role {\n'
                 '    role_arn     = "arn:aws:iam::%d:role/terraform-%s"\n    session_name = "terraform"\n  }\n}\n'
                 % (alias, region, m.account, m.env))
    return text


def tf_locals(m):
    r = m.rng
    extra = r.sample([
        '  azs          = slice(var.availability_zones, 0, 2)' if "availability_zones" in m.variables else
        '  azs          = ["%sa", "%sb"]' % (m.region, m.region),
        '  log_prefix   = "logs/${var.name}/${var.environment}"',
        '  retention    = local.is_prod ? 365 : 30',
        '  admin_ports  = [22, 3389]',
        '  service_fqdn = "${var.name}.${var.environment}.internal.example.com"',
        '  bucket_names = [for p in ["%s", "%s"] : "${var.environment}-${var.name}-${p}"]' % tuple(r.sample(PURPOSES, 2)),
        '  instance_map = { for i in range(2) : "node-${i}" => i }',
        '  alarm_topics = compact([var.environment == "prod" ? "pager" : "", "chat"])',
        '  ports = {\n    http  = 80\n    https = 443\n    app   = %d\n  }' % r.choice([3000, 8080, 9000]),
        '  cidr_by_env = {\n    dev     = "10.10.0.0/16"\n    staging = "10.20.0.0/16"\n    prod    = "10.30.0.0/16"\n  }',
        '  vpc_cidr     = lookup(local.cidr_by_env, var.environment, "10.99.0.0/16")\n  private_cidrs = [for i in range(3) : cidrsubnet(local.vpc_cidr, 8, i)]',
        '  schedule     = local.is_prod ? "rate(5 minutes)" : "rate(1 hour)"',
        '  upper_name   = upper(var.name)\n  short_env    = substr(var.environment, 0, 3)',
        '  users = {\n    alice = { role = "admin" }\n    bob   = { role = "reader" }\n  }\n  admins = [for u, v in local.users : u if v.role == "admin"]',
    ], 11)
    if not any(e.startswith("  cidr_by_env") for e in extra):
        extra = [e for e in extra if "local.cidr_by_env" not in e]
    # enough entries for a realistic locals.tf (40+ lines with the fixed part)
    want = r.randint(30, 40)
    while len(extra) > 3 and sum(e.count("\n") + 2 for e in extra[:-1]) >= want:
        extra.pop()
    return ('locals {\n  name_prefix = "${var.environment}-${var.name}"\n  is_prod     = var.environment == "prod"\n\n'
            '  common_tags = merge(var.tags, {\n    Environment = var.environment\n    Service     = var.name\n'
            '    ManagedBy   = "terraform"\n    Team        = "%s"\n  })\n\n%s\n}\n' % (m.team, "\n\n".join(extra)))


def tf_module_call(m, callee_dir):
    n = ident(callee_dir.split("-")[0]) + "_shared"
    m.names.add(n)
    m.out("%s_outputs" % n, "Outputs of the shared %s module." % callee_dir, "module.%s" % n)
    return ('module "%s" {\n  source = "../%s"\n\n  environment = var.environment\n  name        = "${var.name}-%s"\n'
            '  region      = var.region\n  tags        = local.common_tags\n}\n'
            % (n, callee_dir, callee_dir.split("-")[0]))


EXTRA_VARS = [
    ("enable_monitoring", "Enable detailed monitoring.", "bool", "true"),
    ("owner_email", "Owner contact.", "string", None),
    ("alarm_threshold", "Error threshold for alarms.", "number", None),
    ("extra_tags", "Additional tags.", "map(string)", "{}"),
    ("allowed_account_ids", "Accounts allowed to assume roles.", "list(string)", None),
    ("maintenance_window", "Preferred maintenance window.", "string", '"sun:03:00-sun:04:00"'),
    ("backup_window", "Preferred backup window.", "string", '"02:00-03:00"'),
    ("domain_name", "Public DNS name.", "string", None),
    ("min_capacity", "Minimum capacity.", "number", "1"),
    ("max_capacity", "Maximum capacity.", "number", None),
    ("feature_flags", "Feature toggles.", "map(bool)", None),
]


def tf_variables(m):
    r = m.rng
    defaults = {"environment": '"%s"' % m.env, "name": '"%s"' % m.service, "region": '"%s"' % m.region,
                "tags": '{\n    Owner = "%s"\n    Repo  = "infra-%s"\n  }' % (m.team, m.team)}
    blocks = []
    for name, desc, typ, _ in COMMON_VARS:
        b = 'variable "%s" {\n  description = "%s"\n  type        = %s\n  default     = %s\n' % (name, desc, typ, defaults[name])
        if name == "environment":
            b += ('\n  validation {\n    condition     = contains(["dev", "qa", "sandbox", "staging", "prod"], var.environment)\n'
                  '    error_message = "environment must be one of dev, qa, sandbox, staging, prod."\n  }\n')
        blocks.append(b + "}\n")
    for name in m.var_order:
        desc, typ, default = m.variables[name]
        blocks.append('variable "%s" {\n  description = "%s"\n  type        = %s\n  default     = %s\n}\n'
                      % (name, desc, typ, default))
    extras = list(EXTRA_VARS)
    r.shuffle(extras)
    text = "\n".join(blocks)
    for name, desc, typ, default in extras:
        if text.count("\n") >= m.target_vars:
            break
        if default is None:
            default = {"string": '"%s-%s"' % (m.team, m.hex(4)), "number": str(r.randint(1, 50)),
                       "list(string)": '["%d"]' % m.account, "map(bool)": "{\n    beta = %s\n  }" % str(r.random() < 0.5).lower()}[typ]
        text += '\nvariable "%s" {\n  description = "%s"\n  type        = %s\n  default     = %s\n}\n' % (name, desc, typ, default)
    return text


def tf_outputs(m):
    text = ""
    for name, desc, value, sensitive in m.outputs:
        text += ('%soutput "%s" {\n  description = "%s"\n  value       = %s\n%s}\n'
                 % ("\n" if text else "", name, desc, value, "  sensitive   = true\n" if sensitive else ""))
    fillers = [("environment", "Environment deployed.", "var.environment"),
               ("name_prefix", "Prefix used for resource names.", "local.name_prefix"),
               ("region", "Region deployed to.", "var.region"),
               ("tags", "Tags applied to resources.", "local.common_tags"),
               ("is_prod", "Whether this is production.", "local.is_prod"),
               ("service_name", "Service name.", "var.name"),
               ("module_path", "Path of this module.", "path.module"),
               ("workspace", "Terraform workspace.", "terraform.workspace"),
               ("tag_keys", "Keys of the common tags.", "keys(local.common_tags)"),
               ("name_prefix_upper", "Upper-case prefix.", "upper(local.name_prefix)")]
    fillers += [("%s_input" % v, "Value of var.%s." % v, "var." + v) for v in m.var_order]
    for name, desc, value in fillers:
        if text.count("\n") >= 40:
            break
        text += '\noutput "%s" {\n  description = "%s"\n  value       = %s\n}\n' % (name, desc, value)
    return text


def gen_tf_module(rng, root, team, dirname, k, callee):
    bias = rng.choice([0.15, 0.5, 0.5, 0.85])
    m = TfModule(rng, dirname, team, rng.choice(ENVS), bias)
    m.target_vars = target_lines(rng)
    extras = rng.sample(TF_EXTRA_FILES, max(0, k - 3))
    files = {}
    order = extras + ["main.tf"]
    for fname in order:
        if fname in ("versions.tf", "locals.tf"):
            continue
        prefix = ""
        if fname == "main.tf":
            if "versions.tf" not in extras:
                prefix += tf_versions(m) + "\n"
            if "locals.tf" not in extras:
                prefix += tf_locals(m) + "\n"
            if callee:
                prefix += tf_module_call(m, callee) + "\n"
        files[fname] = fill(m, TF_CATEGORIES[fname], target_lines(rng), prefix)
    if "locals.tf" in extras:
        files["locals.tf"] = tf_locals(m)
    if "versions.tf" in extras:
        files["versions.tf"] = tf_versions(m)
    files["variables.tf"] = tf_variables(m)
    files["outputs.tf"] = tf_outputs(m)
    d = os.path.join(root, dirname)
    os.makedirs(d, exist_ok=True)
    for fname in sorted(files):
        write(os.path.join(d, fname), fmt_hcl(files[fname]).rstrip("\n") + "\n")
    return len(files)


# ---------------------------------------------------------------------------
# YAML emitter (enough for CloudFormation and Kubernetes), with CFN intrinsics.

class Fn:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def Ref(x): return Fn("Ref", x)
def Sub(x): return Fn("Sub", x)
def GetAtt(x): return Fn("GetAtt", x)
def If(c, a, b): return Fn("If", [c, a, b])
def Equals(a, b): return Fn("Equals", [a, b])
def Join(sep, parts): return Fn("Join", [sep, parts])
def Select(i, xs): return Fn("Select", [i, xs])
def GetAZs(x=""): return Fn("GetAZs", x)
def Not(x): return Fn("Not", [x])


class Comment:
    def __init__(self, text):
        self.text = text


_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./ :@()-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
_NUMLIKE = re.compile(r"^[-+]?[0-9_.:]+([eE][-+]?[0-9]+)?$|^0x[0-9a-fA-F]+$|^0o[0-7]+$|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def yscalar(v, flow=False):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if (s and _PLAIN.match(s) and s.lower() not in _RESERVED and not _NUMLIKE.match(s)
            and ": " not in s and " #" not in s and not s.endswith((":", " "))
            and not (flow and ":" in s)):
        return s
    return json.dumps(s)


def is_inline(v):
    if isinstance(v, Fn):
        if isinstance(v.value, list):
            return all(is_inline(x) and not isinstance(x, list) for x in v.value) or \
                (v.tag == "Join" and isinstance(v.value[1], list) and all(is_inline(x) for x in v.value[1]))
        return not isinstance(v.value, dict)
    if isinstance(v, list):
        return all(is_inline(x) and not isinstance(x, (list, dict)) for x in v) and len(v) <= 4 and \
            any(isinstance(x, Fn) for x in v)
    return not isinstance(v, dict)


def yinline(v, flow=False):
    if isinstance(v, Fn):
        if isinstance(v.value, list):
            return "!%s [%s]" % (v.tag, ", ".join(yinline(x, True) for x in v.value))
        return "!%s %s" % (v.tag, yscalar(v.value, True) if v.value != "" else '""')
    if isinstance(v, list):
        return "[%s]" % ", ".join(yinline(x, True) for x in v)
    return yscalar(v, flow)


def ylines(obj, indent):
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, Comment):
                out.append("%s# %s" % (pad, v.text))
                continue
            key = yscalar(k)
            if isinstance(v, dict):
                if not v:
                    out.append("%s%s: {}" % (pad, key))
                else:
                    out.append("%s%s:" % (pad, key))
                    out += ylines(v, indent + 2)
            elif isinstance(v, list) and not (v and is_inline(v)):
                if not v:
                    out.append("%s%s: []" % (pad, key))
                else:
                    out.append("%s%s:" % (pad, key))
                    out += ylines(v, indent + 2)
            elif isinstance(v, Fn) and not is_inline(v):
                out.append("%s%s: !%s" % (pad, key, v.tag))
                out += ylines(v.value, indent + 2)
            elif isinstance(v, str) and "\n" in v:
                out.append("%s%s: |" % (pad, key))
                out += [(pad + "  " + l) if l else "" for l in v.rstrip("\n").split("\n")]
            else:
                out.append("%s%s: %s" % (pad, key, yinline(v)))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                sub = ylines(v, indent + 2)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out += sub
            elif isinstance(v, list) and v and not is_inline(v):
                sub = ylines(v, indent + 2)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out += sub
            elif isinstance(v, Fn) and not is_inline(v):
                out.append("%s- !%s" % (pad, v.tag))
                out += ylines(v.value, indent + 2)
            else:
                out.append("%s- %s" % (pad, yinline(v) if not (isinstance(v, dict) and not v) else "{}"))
    else:
        out.append(pad + yinline(obj))
    return out


def to_yaml(obj):
    return "\n".join(ylines(obj, 0)) + "\n"


def to_json(obj):
    def conv(v):
        if isinstance(v, Fn):
            if v.tag == "Ref":
                return {"Ref": v.value}
            if v.tag == "GetAtt":
                return {"Fn::GetAtt": v.value.split(".", 1)}
            return {"Fn::" + v.tag: conv(v.value)}
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items() if not isinstance(x, Comment)}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return json.dumps(conv(obj), indent=2) + "\n"


# ---------------------------------------------------------------------------
# CloudFormation

class Cfn:
    def __init__(self, rng, secure_bias):
        self.rng = rng
        self.bias = secure_bias
        self.names = set()
        self.params = {}
        self.outputs = {}

    def secure(self):
        return self.rng.random() < self.bias

    def uniq(self, base):
        base = camel(base)
        name, k = base, 2
        while name in self.names:
            name = "%s%d" % (base, k)
            k += 1
        self.names.add(name)
        return name

    def param(self, name, spec):
        self.params.setdefault(name, spec)
        return Ref(name)

    def kms(self):
        return self.param("KmsKeyArn", {"Type": "String", "Description": "KMS key for encryption at rest.",
                                        "Default": "arn:aws:kms:us-east-1:%d:key/%s" % (self.rng.randint(10**11, 10**12 - 1), sha(self.rng)[:36])})

    def tags(self, extra=None):
        t = [{"Key": "Environment", "Value": Ref("Environment")},
             {"Key": "Service", "Value": Ref("ServiceName")}]
        for k, v in (extra or {}).items():
            t.append({"Key": k, "Value": v})
        return t


def cfn_bucket(c):
    r = c.rng
    n = c.uniq("%s bucket" % r.choice(PURPOSES))
    s = c.secure()
    p = {"BucketName": Sub("${Environment}-${ServiceName}-%s" % n.lower().replace("bucket", ""))}
    if not s and r.random() < 0.6:
        p["AccessControl"] = If("IsProd", "Private", r.choice(["PublicRead", "PublicReadWrite"]))
    if s or r.random() < 0.4:
        p["VersioningConfiguration"] = {"Status": "Enabled" if s else "Suspended"}
    if s:
        p["BucketEncryption"] = {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": r.choice([
                {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": c.kms()},
                {"SSEAlgorithm": "AES256"}]), "BucketKeyEnabled": True}]}
        p["PublicAccessBlockConfiguration"] = {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        if r.random() < 0.6:
            p["LoggingConfiguration"] = {"DestinationBucketName": c.param("LogBucket", {"Type": "String", "Default": "%s-access-logs" % r.choice(TEAMS)}),
                                         "LogFilePrefix": "s3/%s/" % n.lower()}
    if r.random() < 0.4:
        p["LifecycleConfiguration"] = {"Rules": [{"Id": "expire", "Status": "Enabled",
                                                  "ExpirationInDays": If("IsProd", r.choice([365, 730]), r.choice([7, 30]))}]}
    p["Tags"] = c.tags({"DataClass": r.choice(DATA_CLASSES)})
    res = {n: {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain" if s else "Delete", "Properties": p}}
    if r.random() < 0.35:
        stmt = ({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [GetAtt(n + ".Arn"), Sub("${%s.Arn}/*" % n)],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}} if s else
                {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                 "Resource": Sub("${%s.Arn}/*" % n)})
        res[c.uniq(n + " policy")] = {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": Ref(n), "PolicyDocument": {"Version": "2012-10-17", "Statement": [stmt]}}}
    c.outputs[n + "Name"] = {"Description": "Name of %s" % n, "Value": Ref(n)}
    return res


def cfn_sg(c):
    r = c.rng
    n = c.uniq("%s security group" % r.choice(["web", "app", "db", "admin", "cache"]))
    s = c.secure()
    ports = r.choice([[443], [80, 443], [22], [3306], [5432, 22], [3389]])
    cidr = r.choice(["10.0.0.0/8", "172.16.0.0/12"]) if s else "0.0.0.0/0"
    ing = [{"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": cidr, "Description": "port %d" % p} for p in ports]
    return {n: {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": Sub("${ServiceName} %s" % n),
        "VpcId": c.param("VpcId", {"Type": "AWS::EC2::VPC::Id", "Description": "VPC to deploy into."}),
        "SecurityGroupIngress": ing,
        "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "all outbound"}],
        "Tags": c.tags()}}}


def cfn_rds(c):
    r = c.rng
    n = c.uniq("%s database" % r.choice(SERVICES))
    s = c.secure()
    p = {"Engine": r.choice(["postgres", "mysql", "mariadb"]), "DBInstanceClass": If("IsProd", "db.r6g.large", "db.t4g.micro"),
         "AllocatedStorage": str(r.choice([20, 50, 100])), "MasterUsername": "admin_%s" % r.choice(SERVICES).replace("-", "_"),
         "StorageEncrypted": s or r.random() < 0.3, "PubliclyAccessible": (not s) and r.random() < 0.6,
         "MultiAZ": If("IsProd", True, False), "BackupRetentionPeriod": r.choice([7, 14]) if s else 0,
         "DeletionProtection": s, "DBSubnetGroupName": c.param("DbSubnetGroup", {"Type": "String", "Default": "private"})}
    if s:
        p["ManageMasterUserPassword"] = True
        p["KmsKeyId"] = c.kms()
        p["EnableIAMDatabaseAuthentication"] = True
        p["EnablePerformanceInsights"] = True
        p["MonitoringInterval"] = 60
    else:
        p["MasterUserPassword"] = r.choice([c.param("DatabasePassword", {"Type": "String", "NoEcho": True}),
                                            "Passw0rd%d" % r.randint(100, 999)])
    p["Tags"] = c.tags()
    c.outputs[n + "Endpoint"] = {"Value": GetAtt(n + ".Endpoint.Address")}
    return {n: {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot" if s else "Delete", "Properties": p}}


def cfn_role(c):
    r = c.rng
    n = c.uniq("%s role" % r.choice(["app", "worker", "deploy", "ingest"]))
    s = c.secure()
    svc = r.choice(AWS_SERVICES)
    stmt = ([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": Sub("arn:aws:s3:::${Environment}-${ServiceName}-*/*")},
             {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
              "Resource": Sub("arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/%s/*" % svc)}]
            if s else [{"Effect": "Allow", "Action": r.choice(["*", "s3:*", ["iam:*", "ec2:*"]]), "Resource": "*"}])
    res = {n: {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": Sub("${Environment}-${ServiceName}-%s" % n.lower()),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["%s.amazonaws.com" % svc]}, "Action": ["sts:AssumeRole"]}]},
        "Policies": [{"PolicyName": "access", "PolicyDocument": {"Version": "2012-10-17", "Statement": stmt}}],
        "Tags": c.tags()}}}
    if not s and r.random() < 0.3:
        res[c.uniq("admin policy")] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Roles": [Ref(n)], "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"}]}}}
    c.outputs[n + "Arn"] = {"Value": GetAtt(n + ".Arn"), "Export": {"Name": Sub("${AWS::StackName}-%s" % n)}}
    return res


def cfn_kms(c):
    r = c.rng
    n = c.uniq("%s key" % r.choice(["data", "logs", "secrets"]))
    s = c.secure()
    stmts = [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": Sub("arn:aws:iam::${AWS::AccountId}:root")},
              "Action": "kms:*", "Resource": "*"}]
    if not s and r.random() < 0.5:
        stmts.append({"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt"], "Resource": "*"})
    return {n: {"Type": "AWS::KMS::Key", "Properties": {
        "Description": Sub("${ServiceName} %s" % n), "EnableKeyRotation": s, "PendingWindowInDays": r.choice([7, 30]),
        "KeyPolicy": {"Version": "2012-10-17", "Statement": stmts}}},
        c.uniq(n + " alias"): {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": Sub("alias/${Environment}-${ServiceName}-%s" % n.lower()), "TargetKeyId": Ref(n)}}}


def cfn_queue(c):
    r = c.rng
    n = c.uniq("%s queue" % r.choice(SERVICES))
    s = c.secure()
    p = {"QueueName": Sub("${Environment}-%s" % n.lower()), "VisibilityTimeout": r.choice([30, 60, 300]),
         "MessageRetentionPeriod": r.choice([345600, 1209600])}
    if s:
        p.update(r.choice([{"SqsManagedSseEnabled": True}, {"KmsMasterKeyId": "alias/aws/sqs"}]))
    elif r.random() < 0.4:
        p["SqsManagedSseEnabled"] = False
    return {n: {"Type": "AWS::SQS::Queue", "Properties": p}}


def cfn_topic(c):
    r = c.rng
    n = c.uniq("%s topic" % r.choice(["alerts", "events", "deploys"]))
    p = {"TopicName": Sub("${Environment}-${ServiceName}-%s" % n.lower())}
    if c.secure():
        p["KmsMasterKeyId"] = "alias/aws/sns"
    if r.random() < 0.5:
        p["Subscription"] = [{"Protocol": r.choice(["https", "email", "http"]),
                              "Endpoint": r.choice(["https://hooks.example.com/%s" % sha(r)[:10], "oncall@example.com",
                                                    "http://alerts.example.com/in"])}]
    return {n: {"Type": "AWS::SNS::Topic", "Properties": p}}


def cfn_lambda(c):
    r = c.rng
    n = c.uniq("%s function" % r.choice(["handler", "resize", "webhook", "cron"]))
    s = c.secure()
    env = {"STAGE": Ref("Environment"), "TABLE": Sub("${Environment}-${ServiceName}")}
    if not s and r.random() < 0.5:
        env[r.choice(["DB_PASSWORD", "API_KEY"])] = r.choice(["hunter2hunter2", "sk_live_%s" % sha(r)[:24]])
    p = {"FunctionName": Sub("${Environment}-${ServiceName}-%s" % n.lower()),
         "Runtime": r.choice(["python3.12", "nodejs20.x", "python3.9", "nodejs16.x"]),
         "Handler": "index.handler", "MemorySize": r.choice([128, 256, 512]), "Timeout": r.choice([10, 30, 60]),
         "Role": c.param("LambdaRoleArn", {"Type": "String", "Description": "Execution role."}),
         "Code": {"S3Bucket": c.param("ArtifactBucket", {"Type": "String", "Default": "%s-artifacts" % r.choice(TEAMS)}),
                  "S3Key": Sub("${ServiceName}/%s.zip" % n.lower())},
         "Environment": {"Variables": env},
         "TracingConfig": {"Mode": "Active" if s else "PassThrough"}}
    if s:
        p["ReservedConcurrentExecutions"] = r.choice([5, 10, 25])
        p["KmsKeyArn"] = c.kms()
        p["VpcConfig"] = {"SubnetIds": c.param("SubnetIds", {"Type": "List<AWS::EC2::Subnet::Id>"}),
                          "SecurityGroupIds": [c.param("LambdaSecurityGroup", {"Type": "AWS::EC2::SecurityGroup::Id"})]}
        p["DeadLetterConfig"] = {"TargetArn": c.param("DlqArn", {"Type": "String"})}
    c.outputs[n + "Arn"] = {"Value": GetAtt(n + ".Arn")}
    return {n: {"Type": "AWS::Lambda::Function", "Properties": p}}


def cfn_trail(c):
    r = c.rng
    n = c.uniq("audit trail")
    s = c.secure()
    p = {"TrailName": Sub("${Environment}-audit"), "IsLogging": True,
         "S3BucketName": c.param("TrailBucket", {"Type": "String", "Default": "%s-cloudtrail" % r.choice(TEAMS)}),
         "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": s or r.random() < 0.5,
         "EnableLogFileValidation": s}
    if s:
        p["KMSKeyId"] = c.kms()
    return {n: {"Type": "AWS::CloudTrail::Trail", "Properties": p}}


def cfn_volume(c):
    r = c.rng
    n = c.uniq("%s volume" % r.choice(["data", "cache"]))
    s = c.secure()
    p = {"AvailabilityZone": Select(0, GetAZs("")), "Size": r.choice([50, 100, 200]), "VolumeType": "gp3",
         "Encrypted": s}
    if s and r.random() < 0.5:
        p["KmsKeyId"] = c.kms()
    p["Tags"] = c.tags()
    return {n: {"Type": "AWS::EC2::Volume", "Properties": p}}


def cfn_ecr(c):
    r = c.rng
    n = c.uniq("%s repository" % r.choice(SERVICES))
    s = c.secure()
    p = {"RepositoryName": Sub("${ServiceName}/%s" % n.lower()), "ImageTagMutability": "IMMUTABLE" if s else "MUTABLE",
         "ImageScanningConfiguration": {"ScanOnPush": s}}
    if s:
        p["EncryptionConfiguration"] = {"EncryptionType": "KMS", "KmsKey": c.kms()}
    return {n: {"Type": "AWS::ECR::Repository", "Properties": p}}


def cfn_alb(c):
    r = c.rng
    n = c.uniq("%s load balancer" % r.choice(["public", "api"]))
    s = c.secure()
    attrs = [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true" if s else "false"}]
    if s:
        attrs.append({"Key": "access_logs.s3.enabled", "Value": "true"})
        attrs.append({"Key": "access_logs.s3.bucket", "Value": c.param("LogBucket", {"Type": "String", "Default": "access-logs"})})
    res = {n: {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
        "Scheme": "internet-facing", "Type": "application",
        "Subnets": c.param("PublicSubnetIds", {"Type": "List<AWS::EC2::Subnet::Id>"}),
        "LoadBalancerAttributes": attrs, "Tags": c.tags()}}}
    l = c.uniq(n + " listener")
    res[l] = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": (
        {"LoadBalancerArn": Ref(n), "Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
         "Certificates": [{"CertificateArn": c.param("CertificateArn", {"Type": "String"})}],
         "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]} if s else
        {"LoadBalancerArn": Ref(n), "Port": 80, "Protocol": "HTTP",
         "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]})}
    c.outputs[n + "Dns"] = {"Value": GetAtt(n + ".DNSName")}
    return res


def cfn_table(c):
    r = c.rng
    n = c.uniq("%s table" % r.choice(SERVICES))
    s = c.secure()
    p = {"TableName": Sub("${Environment}-%s" % n.lower()), "BillingMode": "PAY_PER_REQUEST",
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
         "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": s}}
    if s:
        p["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": c.kms()}
    return {n: {"Type": "AWS::DynamoDB::Table", "Properties": p}}


def cfn_loggroup(c):
    r = c.rng
    n = c.uniq("%s log group" % r.choice(["app", "api", "worker"]))
    s = c.secure()
    p = {"LogGroupName": Sub("/app/${Environment}/%s" % n.lower()),
         "RetentionInDays": If("IsProd", 365, 30) if s else r.choice([1, 3])}
    if s:
        p["KmsKeyId"] = c.kms()
    return {n: {"Type": "AWS::Logs::LogGroup", "Properties": p}}


CFN_GENS = [cfn_bucket, cfn_bucket, cfn_sg, cfn_rds, cfn_role, cfn_kms, cfn_queue, cfn_topic, cfn_lambda,
            cfn_trail, cfn_volume, cfn_ecr, cfn_alb, cfn_table, cfn_loggroup]


def gen_cfn(rng, path, as_json):
    c = Cfn(rng, rng.choice([0.15, 0.5, 0.5, 0.85]))
    target = target_lines(rng)
    svc = rng.choice(SERVICES)
    resources = {}
    prev, prev_n = "", 0
    for i in range(10):
        for k, v in rng.choice(CFN_GENS)(c).items():
            resources[k] = v
        params = {"Environment": {"Type": "String", "Default": rng.choice(ENVS),
                                  "AllowedValues": ["dev", "qa", "sandbox", "staging", "prod"]},
                  "ServiceName": {"Type": "String", "Default": svc}}
        params.update(c.params)
        tmpl = {"AWSTemplateFormatVersion": "2010-09-09",
                "Description": "%s stack for the %s service (%s team)." % (rng.choice(["Storage", "Compute", "Messaging", "Core", "Data"]), svc, rng.choice(TEAMS)),
                "Parameters": params,
                "Conditions": {"IsProd": Equals(Ref("Environment"), "prod")},
                "Resources": resources}
        if c.outputs:
            tmpl["Outputs"] = dict(c.outputs)
        text = to_json(tmpl) if as_json else to_yaml(tmpl)
        if text.count("\n") > 200 and prev_n >= 3:
            text = prev
            break
        if len(resources) >= 3 and text.count("\n") >= target:
            break
        prev, prev_n = text, len(resources)
    write(path, text)


# ---------------------------------------------------------------------------
# Kubernetes

def k8s_container(rng, name, secure, port):
    img = rng.choice(IMAGES)
    if secure:
        image = "%s/%s:%d.%d.%d@sha256:%s" % (REGISTRY, img.split("/")[-1], rng.randint(1, 5), rng.randint(0, 30), rng.randint(0, 9), sha(rng)) \
            if rng.random() < 0.5 else "%s/%s:%d.%d.%d" % (REGISTRY, img.split("/")[-1], rng.randint(1, 5), rng.randint(0, 30), rng.randint(0, 9))
    else:
        image = rng.choice(["%s:latest" % img, img, "%s:%d" % (img, rng.randint(1, 20))])
    c = {"name": name, "image": image, "imagePullPolicy": "Always" if secure else rng.choice(["IfNotPresent", "Always"])}
    if port:
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    env = [{"name": "APP_ENV", "value": rng.choice(ENVS)},
           {"name": "LOG_LEVEL", "value": rng.choice(["info", "debug", "warn"])}]
    if secure:
        env.append({"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "%s-db" % name, "key": "password"}}})
    elif rng.random() < 0.6:
        env.append({"name": rng.choice(["DATABASE_PASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY"]),
                    "value": rng.choice(["hunter2-but-longer", "s3cr3t-%s" % sha(rng)[:12], sha(rng)[:40]])})
    c["env"] = env
    if secure or rng.random() < 0.4:
        c["resources"] = {"requests": {"cpu": "%dm" % rng.choice([50, 100, 250, 500]), "memory": "%dMi" % rng.choice([64, 128, 256, 512])},
                          "limits": {"cpu": "%dm" % rng.choice([500, 1000, 2000]), "memory": "%dMi" % rng.choice([256, 512, 1024])}}
    if port and (secure or rng.random() < 0.3):
        c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 10, "periodSeconds": 15}
        c["readinessProbe"] = {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5}
    if secure:
        c["securityContext"] = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                "runAsUser": rng.choice([1000, 10001, 65532]), "capabilities": {"drop": ["ALL"]}}
    elif rng.random() < 0.7:
        sc = {}
        if rng.random() < 0.5:
            sc["privileged"] = True
        if rng.random() < 0.6:
            sc["allowPrivilegeEscalation"] = True
        if rng.random() < 0.4:
            sc["runAsUser"] = 0
        if rng.random() < 0.4:
            sc["capabilities"] = {"add": rng.sample(["NET_ADMIN", "SYS_ADMIN", "NET_RAW", "SYS_PTRACE"], 2)}
        if sc:
            c["securityContext"] = sc
    if rng.random() < 0.3:
        c["volumeMounts"] = [{"name": "config", "mountPath": "/etc/%s" % name, "readOnly": True}]
    return c


def k8s_podspec(rng, app, secure, port, restart=None):
    spec = {}
    if secure:
        spec["serviceAccountName"] = app
        spec["automountServiceAccountToken"] = False
        spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001,
                                   "seccompProfile": {"type": "RuntimeDefault"}}
    else:
        if rng.random() < 0.3:
            spec["hostNetwork"] = True
        if rng.random() < 0.2:
            spec["hostPID"] = True
        if rng.random() < 0.15:
            spec["hostIPC"] = True
    if restart:
        spec["restartPolicy"] = restart
    containers = [k8s_container(rng, app, secure, port)]
    if rng.random() < 0.25:
        containers.append(k8s_container(rng, rng.choice(["sidecar", "proxy", "log-shipper", "metrics"]), secure and rng.random() < 0.8, None))
    spec["containers"] = containers
    vols = []
    if any("volumeMounts" in c for c in containers):
        vols.append({"name": "config", "configMap": {"name": "%s-config" % app}})
    if not secure and rng.random() < 0.3:
        vols.append({"name": "host", "hostPath": {"path": rng.choice(["/var/run/docker.sock", "/", "/etc", "/var/log"])}})
        containers[0].setdefault("volumeMounts", []).append({"name": "host", "mountPath": "/host"})
    if vols:
        spec["volumes"] = vols
    return spec


def k8s_meta(rng, name, ns, app, kind_labels=True):
    md = {"name": name}
    if ns:
        md["namespace"] = ns
    if kind_labels:
        md["labels"] = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": rng.choice(TEAMS),
                        "app.kubernetes.io/managed-by": rng.choice(["helm", "kustomize", "argocd"])}
    return md


def k8s_workload(rng, app, ns, secure):
    kind = rng.choice(["Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet"])
    port = rng.choice([8080, 8000, 3000, 9090, 80])
    tmpl = {"metadata": {"labels": {"app.kubernetes.io/name": app}}, "spec": k8s_podspec(rng, app, secure, port)}
    if rng.random() < 0.4:
        tmpl["metadata"]["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}
    spec = {}
    if kind != "DaemonSet":
        spec["replicas"] = rng.choice([1, 2, 3, 5])
    if kind == "StatefulSet":
        spec["serviceName"] = app
    spec["selector"] = {"matchLabels": {"app.kubernetes.io/name": app}}
    if kind == "Deployment" and rng.random() < 0.5:
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    spec["template"] = tmpl
    if kind == "StatefulSet":
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "%dGi" % rng.choice([10, 20, 50])}}}}]
    docs = [{"apiVersion": "apps/v1", "kind": kind, "metadata": k8s_meta(rng, app, ns, app), "spec": spec}]
    svc_type = "ClusterIP" if secure else rng.choice(["ClusterIP", "LoadBalancer", "NodePort"])
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": k8s_meta(rng, app, ns, app),
                 "spec": {"type": svc_type, "selector": {"app.kubernetes.io/name": app},
                          "ports": [{"name": "http", "port": 80 if port != 80 else 8080, "targetPort": "http"}]}})
    return docs, port


def k8s_extras(rng, app, ns, secure, port):
    docs = []
    if secure:
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": k8s_meta(rng, app, ns, app, False),
                     "automountServiceAccountToken": False})
    if rng.random() < 0.5:
        host = "%s.%s.example.com" % (app, rng.choice(ENVS))
        ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": k8s_meta(rng, app, ns, app),
               "spec": {"ingressClassName": "nginx",
                        "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                                     "backend": {"service": {"name": app, "port": {"name": "http"}}}}]}}]}}
        if secure:
            ing["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/ssl-redirect": "true"}
            ing["spec"]["tls"] = [{"hosts": [host], "secretName": "%s-tls" % app}]
        elif rng.random() < 0.3:
            ing["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/server-snippet": "location /admin { allow all; }"}
        docs.append(ing)
    if rng.random() < 0.4:
        docs.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": k8s_meta(rng, app, ns, app),
                     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                              "minReplicas": 2, "maxReplicas": rng.choice([5, 10, 20]),
                              "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": rng.choice([60, 70, 80])}}}]}})
    if rng.random() < 0.3:
        docs.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": k8s_meta(rng, app, ns, app),
                     "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": app}}}})
    if rng.random() < 0.35:
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": k8s_meta(rng, "%s-config" % app, ns, app),
                     "data": {"config.yaml": "server:\n  port: %d\n  timeout: %ds\nfeatures:\n  beta: %s\n" % (port, rng.choice([5, 30]), str(rng.random() < 0.5).lower()),
                              "LOG_FORMAT": "json"}})
    return docs


def k8s_cronjob(rng, app, ns, secure):
    spec = k8s_podspec(rng, app, secure, None, restart="OnFailure")
    spec["containers"][0]["command"] = ["/bin/sh", "-c", rng.choice(["/app/cleanup --older-than 30d", "python -m jobs.%s" % app.replace("-", "_"), "pg_dump $DATABASE_URL | gzip > /backup/dump.gz"])]
    docs = [{"apiVersion": "batch/v1", "kind": rng.choice(["CronJob", "CronJob", "Job"]), "metadata": k8s_meta(rng, app, ns, app)}]
    job = {"backoffLimit": 2, "template": {"metadata": {"labels": {"app.kubernetes.io/name": app}}, "spec": spec}}
    if docs[0]["kind"] == "CronJob":
        docs[0]["spec"] = {"schedule": "%d %d * * *" % (rng.randint(0, 59), rng.randint(0, 23)), "concurrencyPolicy": "Forbid",
                           "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1, "jobTemplate": {"spec": job}}
    else:
        job["ttlSecondsAfterFinished"] = 3600
        docs[0]["spec"] = job
    return docs


def k8s_rbac(rng, app, ns, secure):
    docs = [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": k8s_meta(rng, app, ns, app)}]
    cluster = rng.random() < 0.4
    if secure:
        rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
                 {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]
    else:
        rules = rng.choice([[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
                            [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}],
                            [{"apiGroups": [""], "resources": ["pods/exec", "pods"], "verbs": ["create", "get"]},
                             {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"], "verbs": ["create", "bind", "escalate"]}]])
    rk = "ClusterRole" if cluster else "Role"
    docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": rk,
                 "metadata": k8s_meta(rng, "%s-reader" % app, None if cluster else ns, app), "rules": rules})
    role_ref = "%s-reader" % app
    if not secure and rng.random() < 0.3:
        rk, role_ref = "ClusterRole", "cluster-admin"
    docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "%sBinding" % ("ClusterRole" if cluster or role_ref == "cluster-admin" else "Role"),
                 "metadata": k8s_meta(rng, "%s-reader" % app, None if cluster else ns, app),
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": rk, "name": role_ref},
                 "subjects": [{"kind": "ServiceAccount", "name": app, "namespace": ns or "default"}]})
    return docs


def k8s_netpol(rng, app, ns, secure):
    docs = []
    if rng.random() < 0.4:
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns or "apps", "labels": {
            "pod-security.kubernetes.io/enforce": "restricted" if secure else "privileged", "team": rng.choice(TEAMS)}}})
    docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": k8s_meta(rng, "default-deny", ns, app, False),
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    frm = ([{"podSelector": {"matchLabels": {"app.kubernetes.io/name": rng.choice(SERVICES)}}}] if secure
           else [{"ipBlock": {"cidr": "0.0.0.0/0"}}])
    docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": k8s_meta(rng, "allow-%s" % app, ns, app, False),
                 "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": app}}, "policyTypes": ["Ingress"],
                          "ingress": [{"from": frm, "ports": [{"protocol": "TCP", "port": rng.choice([80, 8080, 443])}]}]}})
    if rng.random() < 0.5:
        docs.append({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": k8s_meta(rng, "quota", ns, app, False),
                     "spec": {"hard": {"requests.cpu": str(rng.choice([4, 8, 16])), "requests.memory": "%dGi" % rng.choice([8, 16, 32]), "pods": str(rng.choice([20, 50]))}}})
        docs.append({"apiVersion": "v1", "kind": "LimitRange", "metadata": k8s_meta(rng, "defaults", ns, app, False),
                     "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"},
                                          "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}})
    return docs


def gen_k8s(rng, path, ns):
    app = "%s-%s" % (rng.choice(SERVICES), rng.choice(["api", "web", "worker", "svc", "consumer", "gateway", "job"]))
    secure = rng.random() < rng.choice([0.15, 0.5, 0.85])
    if ns == "default" and rng.random() < 0.5:
        ns = None
    target = target_lines(rng)
    kind = rng.random()
    docs = []
    port = None
    for i in range(6):
        if i == 0:
            if kind < 0.55:
                d, port = k8s_workload(rng, app, ns, secure)
                docs += d + k8s_extras(rng, app, ns, secure, port)
            elif kind < 0.72:
                docs += k8s_cronjob(rng, app, ns, secure)
            elif kind < 0.86:
                docs += k8s_rbac(rng, app, ns, secure)
            else:
                docs += k8s_netpol(rng, app, ns, secure)
        else:
            app = "%s-%s" % (rng.choice(SERVICES), rng.choice(["api", "worker", "sync", "cron"]))
            docs += rng.choice([lambda: k8s_workload(rng, app, ns, secure)[0], lambda: k8s_cronjob(rng, app, ns, secure),
                                lambda: k8s_rbac(rng, app, ns, secure)])()
        text = render_k8s(rng, docs)
        if text.count("\n") >= target or text.count("\n") > 150:
            break
    while text.count("\n") > 200 and len(docs) > 1:
        docs.pop()
        text = render_k8s(rng, docs)
    write(path, text)


def render_k8s(rng, docs):
    if len(docs) > 2 and rng.random() < 0.08:
        return to_yaml({"apiVersion": "v1", "kind": "List", "items": docs})
    parts = []
    for d in docs:
        parts.append(to_yaml(d))
    head = "# %s\n" % rng.choice(["Managed by the platform team.", "Generated by kustomize build.",
                                   "Source: charts/app/templates", "Do not edit by hand."]) if rng.random() < 0.5 else ""
    return head + "---\n".join(parts) if rng.random() < 0.5 else head + "".join("---\n" + p for p in parts)


# ---------------------------------------------------------------------------

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def generate(out, n, seed):
    rng = random.Random(seed)
    n_tf = round(n * 0.45)
    n_cfn = round(n * 0.20)
    n_k8s = n - n_tf - n_cfn

    # Terraform module sizes: 3-8 files, the remainder folded into the last modules.
    sizes = []
    rem = n_tf
    while rem > 0:
        k = min(rng.randint(3, 8), rem)
        sizes.append(k)
        rem -= k
    while len(sizes) > 1 and sizes[-1] < 3:
        last = sizes.pop()
        for i in range(last):
            sizes[-1 - (i % len(sizes))] += 1
    written = 0
    leaves = {}   # team -> module dirs that call no module (safe to call)
    tf_root = os.path.join(out, "terraform")
    for i, k in enumerate(sizes):
        team = rng.choice(TEAMS)
        dirname = "%s-%05d" % (rng.choice(SERVICES), i)
        callee = None
        if leaves.get(team) and rng.random() < 0.15:
            callee = rng.choice(leaves[team][-20:])
        cnt = gen_tf_module(rng, os.path.join(tf_root, team), team, dirname, k, callee)
        assert cnt == k, (cnt, k)
        if callee is None:
            leaves.setdefault(team, []).append(dirname)
        written += cnt
    for i in range(n_cfn):
        team = rng.choice(TEAMS)
        as_json = rng.random() < 0.3
        ext = ".json" if as_json else rng.choice([".yaml", ".yaml", ".yml"])
        gen_cfn(rng, os.path.join(out, "cloudformation", team, "%s-%05d%s" % (rng.choice(SERVICES), i, ext)), as_json)
        written += 1
    for i in range(n_k8s):
        ns = rng.choice(K8S_NAMESPACES)
        gen_k8s(rng, os.path.join(out, "kubernetes", rng.choice(K8S_CLUSTERS), ns,
                                  "%s-%05d.yaml" % (rng.choice(SERVICES), i)), ns)
        written += 1
    return written, n_tf, n_cfn, n_k8s, len(sizes)


def units(src):
    """Top-level units of a corpus: (category, relative path, [relative files])."""
    out = []
    for cat in ("terraform", "cloudformation", "kubernetes"):
        base = os.path.join(src, cat)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = os.path.relpath(dirpath, src)
            if cat == "terraform" and any(f.endswith(".tf") for f in filenames):
                out.append((cat, rel, sorted(os.path.join(rel, f) for f in filenames)))
                dirnames[:] = []
            elif cat != "terraform":
                for f in sorted(filenames):
                    out.append((cat, os.path.join(rel, f), [os.path.join(rel, f)]))
    return out


_SOURCE = re.compile(r'source\s*=\s*"\.\./([^"]+)"')


def subset(src, dst, m):
    """Copy a deterministic sample of about m files (whole units) from src to dst."""
    all_units = units(src)
    total = sum(len(u[2]) for u in all_units)
    if total == 0:
        sys.exit("no files under %s" % src)
    frac = min(1.0, m / total)
    by_path = {u[1]: u for u in all_units}
    chosen = []
    seen = set()
    for cat in ("terraform", "cloudformation", "kubernetes"):
        cu = [u for u in all_units if u[0] == cat]
        want = round(sum(len(u[2]) for u in cu) * frac)
        got, acc = 0, 0.0
        for u in cu:  # take evenly spaced units until the category's share is reached
            acc += frac
            if acc >= 1.0 and got < want:
                acc -= 1.0
                todo = [u]
                while todo:
                    x = todo.pop()
                    if x[1] in seen:
                        continue
                    seen.add(x[1])
                    chosen.append(x)
                    got += len(x[2])
                    if x[0] == "terraform":
                        for f in x[2]:
                            with open(os.path.join(src, f), encoding="utf-8") as fh:
                                for callee in _SOURCE.findall(fh.read()):
                                    p = os.path.normpath(os.path.join(x[1], "..", callee))
                                    if p in by_path:
                                        todo.append(by_path[p])
    n = 0
    for _, _, files in chosen:
        for f in files:
            d = os.path.join(dst, f)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copyfile(os.path.join(src, f), d)
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output directory (created; must be empty or absent)")
    ap.add_argument("--files", type=int, default=10000, help="number of files (default 10000)")
    ap.add_argument("--seed", type=int, default=20240601, help="random seed (default 20240601)")
    ap.add_argument("--subset-of", metavar="CORPUS", help="copy a deterministic sample of about --files files from CORPUS")
    a = ap.parse_args()
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit("%s exists and is not empty" % a.out)
    if a.subset_of:
        n = subset(a.subset_of, a.out, a.files)
        print("sampled %d files from %s into %s" % (n, a.subset_of, a.out))
        return
    written, n_tf, n_cfn, n_k8s, mods = generate(a.out, a.files, a.seed)
    print("wrote %d files to %s: %d Terraform in %d modules, %d CloudFormation, %d Kubernetes (seed %d)"
          % (written, a.out, n_tf, mods, n_cfn, n_k8s, a.seed))


if __name__ == "__main__":
    main()
