//! Terraform HCL evaluation and plan parsing against fixtures.

use std::path::{Path, PathBuf};

use palisade_iac::model::{Framework, IacResource, ParsedSet};
use palisade_iac::terraform::{parse_plan, scan_dirs};
use proptest::prelude::*;
use serde_json::{json, Value};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terraform")
        .join(case)
}

/// Every directory holding `.tf` files, as the engine's walk would list them.
fn tf_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut has_tf = false;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir);
        }
    }
    out.sort();
    out
}

fn scan(case: &str) -> ParsedSet {
    let root = fixture(case);
    scan_dirs(&root, &tf_dirs(&root))
}

fn get<'a>(set: &'a ParsedSet, address: &str) -> &'a IacResource {
    set.resources
        .iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| {
            let all: Vec<_> = set.resources.iter().map(|r| &r.address).collect();
            panic!("no resource {address}; have {all:?}")
        })
}

fn addresses(set: &ParsedSet) -> Vec<&str> {
    set.resources.iter().map(|r| r.address.as_str()).collect()
}

#[test]
fn variables_tfvars_and_locals() {
    let set = scan("variables");
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let bucket = get(&set, "aws_s3_bucket.data");
    assert_eq!(bucket.framework, Framework::Terraform);
    assert_eq!(bucket.kind, "aws_s3_bucket");
    assert_eq!(bucket.name, "data");
    assert_eq!(bucket.file, "main.tf");
    assert_eq!((bucket.start_line, bucket.end_line), (23, 35));
    // prod.auto.tfvars overrides terraform.tfvars which overrides the default;
    // the "true" string becomes a bool because the variable is typed.
    assert_eq!(
        bucket.attributes,
        json!({
            "bucket": "acme-data-prod",
            "force_destroy": false,
            "tags": {"Environment": "PROD", "ManagedBy": "terraform", "Owner": "platform"},
            "versioning": [{"enabled": true}]
        })
    );

    let db = get(&set, "aws_db_instance.db");
    assert_eq!(db.get("identifier"), Some(&json!("acme-data-db-03")));
    assert_eq!(
        db.get("storage_encrypted"),
        Some(&json!(true)),
        "optional() default"
    );
    assert_eq!(db.get("backup_retention"), Some(&json!(30)));
    assert_eq!(db.get("replicas"), Some(&json!(6)));
    assert_eq!(db.get("kms_key_id"), Some(&json!("${var.no_default}")));
    assert_eq!(db.get("deletion_protection"), Some(&json!(true)));
    assert_eq!(db.get("engine"), Some(&json!("postgres")));
    assert_eq!(db.get("subnets"), Some(&json!(["subnet-a", "subnet-c"])));
    assert_eq!(
        db.get("az_map"),
        Some(&json!({"us-east-1a": 0, "us-east-1b": 1}))
    );
    assert_eq!(db.get("description"), None, "null arguments are not set");
}

#[test]
fn jsonencode_policy_is_the_expected_document() {
    let set = scan("variables");
    let policy = get(&set, "aws_s3_bucket_policy.data");
    assert_eq!(
        policy.get("bucket"),
        Some(&json!("${aws_s3_bucket.data.id}"))
    );
    let text = policy.get("policy").and_then(Value::as_str).unwrap();
    let doc: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        doc,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::acme-data-prod", "arn:aws:s3:::acme-data-prod/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        })
    );
    // Terraform's jsonencode sorts keys.
    assert!(
        text.starts_with(r#"{"Statement":[{"Action":"s3:*","Condition""#),
        "{text}"
    );
}

#[test]
fn count_and_for_each_expand() {
    let set = scan("count_for_each");
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let mut addrs = addresses(&set);
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            "aws_eip.web[0]",
            "aws_eip.web[1]",
            "aws_iam_user.by_set[\"alice\"]",
            "aws_iam_user.by_set[\"bob\"]",
            "aws_instance.web[0]",
            "aws_instance.web[1]",
            "aws_s3_bucket.by_map[\"logs\"]",
            "aws_s3_bucket.by_map[\"media\"]",
            "aws_s3_bucket.unknown_count",
            "aws_s3_bucket.unknown_each",
        ]
    );
    let media = get(&set, "aws_s3_bucket.by_map[\"media\"]");
    assert_eq!(
        media.attributes,
        json!({"bucket": "acme-media", "acl": "public-read"})
    );
    assert_eq!(media.name, "by_map");
    assert_eq!(
        get(&set, "aws_iam_user.by_set[\"bob\"]").get("name"),
        Some(&json!("bob"))
    );
    assert_eq!(
        get(&set, "aws_instance.web[1]").get("tags.Name"),
        Some(&json!("web-1"))
    );
    assert_eq!(
        get(&set, "aws_eip.web[1]").get("instance"),
        Some(&json!("${aws_instance.web[1].id}"))
    );
    assert_eq!(
        get(&set, "aws_s3_bucket.unknown_count").get("bucket"),
        Some(&json!("az-${count.index}"))
    );
    assert_eq!(
        get(&set, "aws_s3_bucket.unknown_each").get("bucket"),
        Some(&json!("${each.key}"))
    );
}

#[test]
fn local_modules_are_evaluated_with_their_arguments() {
    let set = scan("modules");
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let mut addrs = addresses(&set);
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            "aws_s3_bucket_logging.assets",
            "aws_s3_bucket_versioning.assets",
            "module.replicas[\"eu\"].aws_s3_bucket.this",
            "module.replicas[\"us\"].aws_s3_bucket.this",
            "module.storage.aws_s3_bucket.this",
            "module.storage.aws_s3_bucket_server_side_encryption_configuration.this[0]",
            "module.storage.module.key.aws_kms_key.this[0]",
        ],
        "called modules are not scanned standalone; count = 0 in the replicas' kms module"
    );
    let bucket = get(&set, "module.storage.aws_s3_bucket.this");
    assert_eq!(bucket.file, "modules/storage/main.tf");
    assert_eq!(bucket.get("bucket"), Some(&json!("acme-prod-assets")));
    assert_eq!(
        get(&set, "module.replicas[\"eu\"].aws_s3_bucket.this").get("bucket"),
        Some(&json!("acme-replica-eu"))
    );
    let sse = get(
        &set,
        "module.storage.aws_s3_bucket_server_side_encryption_configuration.this[0]",
    );
    assert_eq!(
        sse.get("bucket"),
        Some(&json!("${module.storage.aws_s3_bucket.this.id}"))
    );
    assert_eq!(
        sse.get("rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id"),
        Some(&json!(
            "${module.storage.module.key.aws_kms_key.this[0].arn}"
        ))
    );
    let key = get(&set, "module.storage.module.key.aws_kms_key.this[0]");
    assert_eq!(key.file, "modules/kms/main.tf");
    assert_eq!(key.get("description"), Some(&json!("key for modules/kms")));
    // Module outputs carry references across the module boundary.
    assert_eq!(
        get(&set, "aws_s3_bucket_versioning.assets").get("bucket"),
        Some(&json!("${module.storage.aws_s3_bucket.this.id}"))
    );
    let logging = get(&set, "aws_s3_bucket_logging.assets");
    assert_eq!(logging.get("bucket"), Some(&json!("acme-prod-assets")));
    assert_eq!(
        logging.get("target_bucket"),
        Some(&json!("${module.remote.s3_bucket_id}"))
    );
}

#[test]
fn dynamic_blocks_expand_into_nested_blocks() {
    let set = scan("dynamic");
    let sg = get(&set, "aws_security_group.web");
    assert_eq!(
        sg.attributes,
        json!({
            "name": "web",
            "ingress": [
                {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]},
                {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}
            ],
            "egress": [
                {"description": "all", "from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}
            ]
        })
    );
    let listener = get(&set, "aws_lb_listener.front");
    assert_eq!(
        listener.get("default_action"),
        Some(&json!([{"type": "forward"}, {"type": "${var.unknown_actions.type}"}]))
    );
}

#[test]
fn unknown_values_become_reference_placeholders() {
    let set = scan("unknowns");
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    assert_eq!(
        get(&set, "aws_s3_bucket.b").get("bucket"),
        Some(&json!(
            "acme-${data.aws_caller_identity.current.account_id}"
        ))
    );
    let sse = get(&set, "aws_s3_bucket_server_side_encryption_configuration.b");
    assert_eq!(
        sse.get("rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id"),
        Some(&json!("${aws_kms_key.k.arn}"))
    );
    let policy = get(&set, "aws_iam_role_policy.p");
    let doc: Value =
        serde_json::from_str(policy.get("policy").and_then(Value::as_str).unwrap()).unwrap();
    assert_eq!(
        doc["Statement"][0]["Resource"],
        json!("${aws_s3_bucket.b.arn}/*")
    );
    let instance = get(&set, "aws_instance.i");
    assert_eq!(instance.get("ami"), Some(&json!("${var.ami_id}")));
    assert_eq!(
        instance.get("vpc_security_group_ids"),
        Some(&json!(["${aws_security_group.sg.id}"]))
    );
    assert_eq!(
        instance.get("user_data"),
        Some(&json!("${aws_s3_bucket.b.bucket}"))
    );
    assert_eq!(
        instance.get("monitoring"),
        Some(&json!("${1 + \"x\"}")),
        "a bad expression costs only itself"
    );
    assert_eq!(instance.get("ebs_optimized"), Some(&json!("${var.ami_id}")));
    assert_eq!(
        instance.get("subnet_ids"),
        Some(&json!("${aws_subnet.private[*].id}"))
    );
}

#[test]
fn iam_policy_documents_render_to_json() {
    let set = scan("policy_document");
    let role = get(&set, "aws_iam_role.r");
    let doc: Value = serde_json::from_str(
        role.get("assume_role_policy")
            .and_then(Value::as_str)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "ec2.amazonaws.com"}
        }]})
    );
    let admin = get(&set, "aws_iam_policy.admin");
    let doc: Value =
        serde_json::from_str(admin.get("policy").and_then(Value::as_str).unwrap()).unwrap();
    assert_eq!(
        doc["Statement"][0],
        json!({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"})
    );
    assert_eq!(
        doc["Statement"][1]["Resource"],
        json!("${aws_s3_bucket.b.arn}")
    );
    assert_eq!(
        doc["Statement"][1]["Condition"],
        json!({"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    );
}

#[test]
fn bad_inputs_are_errors_and_do_not_hide_other_files() {
    let set = scan("bad_inputs");
    assert_eq!(addresses(&set), vec!["aws_s3_bucket.fine"]);
    let error = |file: &str| {
        set.errors
            .iter()
            .find(|e| e.path == file)
            .unwrap_or_else(|| panic!("no error for {file}: {:?}", set.errors))
    };
    assert_eq!(error("broken.tf").line, Some(7));
    assert!(
        error("junk.tf").message.contains("binary"),
        "{:?}",
        error("junk.tf")
    );
    let latin1 = error("latin1.tf");
    assert_eq!(latin1.line, Some(2));
    assert!(latin1.message.contains("UTF-8"));
    assert!(
        set.errors.iter().all(|e| e.path != "empty.tf"),
        "an empty file is valid"
    );
    assert_eq!(set.errors.len(), 3, "{:?}", set.errors);
}

#[test]
fn huge_files_are_skipped_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("resource \"aws_s3_bucket\" \"big\" {\n");
    while content.len() <= 5 * 1024 * 1024 {
        content.push_str("  # padding padding padding padding padding padding padding padding\n");
    }
    content.push_str("}\n");
    std::fs::write(dir.path().join("big.tf"), content).unwrap();
    std::fs::write(
        dir.path().join("small.tf"),
        "resource \"aws_sqs_queue\" \"q\" {}\n",
    )
    .unwrap();
    let set = scan_dirs(dir.path(), &[dir.path().to_path_buf()]);
    assert_eq!(addresses(&set), vec!["aws_sqs_queue.q"]);
    assert_eq!(set.errors.len(), 1);
    assert_eq!(set.errors[0].path, "big.tf");
    assert!(set.errors[0].message.contains("limit"));
}

#[test]
fn modules_outside_the_root_and_cycles_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("live");
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(
        root.join("main.tf"),
        "module \"s\" {\n  source = \"../shared\"\n  name = \"x\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        shared.join("main.tf"),
        "variable \"name\" {}\nmodule \"again\" {\n  source = \"../shared\"\n}\nresource \"aws_sqs_queue\" \"q\" {\n  name = var.name\n}\n",
    )
    .unwrap();
    let set = scan_dirs(&root, std::slice::from_ref(&root));
    assert_eq!(addresses(&set), vec!["module.s.aws_sqs_queue.q"]);
    assert_eq!(set.resources[0].file, "../shared/main.tf");
    assert_eq!(set.resources[0].get("name"), Some(&json!("x")));
}

#[test]
fn locals_cycles_and_functions_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.json"), r#"{"Statement": []}"#).unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        r##"
locals {
  a = local.b
  b = local.a
  names = ["x", "y", ""]
  cfg = jsondecode(file("${path.module}/policy.json"))
}
resource "aws_sqs_queue" "q" {
  cyc      = local.a
  n        = length(compact(local.names))
  j        = join("-", compact(local.names))
  c        = coalesce("", "fallback")
  t        = try(local.cfg.missing, "default")
  can_f    = can(local.cfg.Statement)
  k        = keys({ b = 1, a = 2 })
  f        = flatten([[1], [2, [3]]])
  d        = distinct(["a", "a", "b"])
  m        = max(3, 9, 1)
  e        = element(["a", "b"], 3)
  s        = substr("hello", 1, 3)
  r        = replace("a-b-c", "-", "_")
  rr       = replace("a1b22", "/[0-9]+/", "#")
  ts       = trimspace("  x ")
  up       = "${upper("a")}${lower("B")}"
  st       = tostring(5)
  tn       = tonumber("7")
  tb       = tobool("true")
  cs       = contains(["a"], "a")
  v        = values({ a = 1 })
  sp       = [for s in [{ n = "a" }, { n = "b" }] : s.n]
  sp2      = [{ n = "a" }, { n = "b" }][*].n
  ab       = abs(-4)
  heredoc  = <<-EOT
    line ${local.names[0]}
      indented
  EOT
  directive = "%{ for n in local.names }${n};%{ endfor }%{ if length(local.names) > 2 }many%{ else }few%{ endif }"
  secret   = file("/etc/passwd")
}
"##,
    )
    .unwrap();
    let set = scan_dirs(dir.path(), &[dir.path().to_path_buf()]);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let q = &set.resources[0];
    let expected = json!({
        "cyc": "${local.a}", "n": 2, "j": "x-y", "c": "fallback", "t": "default",
        "can_f": true, "k": ["a", "b"], "f": [1, 2, 3], "d": ["a", "b"], "m": 9,
        "e": "b", "s": "ell", "r": "a_b_c", "rr": "a#b#", "ts": "x", "up": "Ab",
        "st": "5", "tn": 7, "tb": true, "cs": true, "v": [1], "sp": ["a", "b"],
        "sp2": ["a", "b"], "ab": 4,
        "heredoc": "line x\n  indented\n", "directive": "x;y;;many",
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(q.get(key), Some(value), "attribute {key}");
    }
    let secret = q.get("secret").and_then(Value::as_str).unwrap();
    assert!(
        secret.starts_with("${file("),
        "file() outside the tree is refused: {secret}"
    );
}

#[test]
fn plan_json_resources_with_unknowns_resolved_to_references() {
    let path = fixture("plan/plan.json");
    let content = std::fs::read_to_string(&path).unwrap();
    let set = parse_plan("plan/plan.json", &content);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    assert_eq!(
        addresses(&set),
        vec![
            "aws_kms_key.logs",
            "module.logs.aws_s3_bucket.this[0]",
            "module.logs.aws_s3_bucket_server_side_encryption_configuration.this[0]",
            "module.logs.module.policy[\"read\"].aws_s3_bucket_policy.this",
        ],
        "data sources are not resources"
    );
    let key = get(&set, "aws_kms_key.logs");
    assert_eq!(key.framework, Framework::TerraformPlan);
    assert_eq!(key.kind, "aws_kms_key");
    assert_eq!(key.name, "logs");
    assert_eq!(key.file, "plan/plan.json");
    assert_eq!(key.start_line, 11);
    assert_eq!(key.get("enable_key_rotation"), Some(&json!(true)));
    assert_eq!(
        key.get("arn"),
        None,
        "unknown computed attributes are not invented"
    );

    let sse = get(
        &set,
        "module.logs.aws_s3_bucket_server_side_encryption_configuration.this[0]",
    );
    assert_eq!(
        sse.get("bucket"),
        Some(&json!("${module.logs.aws_s3_bucket.this[0].id}"))
    );
    assert_eq!(
        sse.get("rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id"),
        Some(&json!("${aws_kms_key.logs.arn}")),
        "var.kms_key_arn is followed to the module call's argument"
    );
    let bucket = get(&set, "module.logs.aws_s3_bucket.this[0]");
    assert_eq!(bucket.get("versioning"), None, "unknown blocks stay absent");
    assert_eq!(bucket.get("tags.Environment"), Some(&json!("prod")));
    let policy = get(
        &set,
        "module.logs.module.policy[\"read\"].aws_s3_bucket_policy.this",
    );
    assert_eq!(
        policy.get("bucket"),
        Some(&json!(
            "${module.logs.module.policy[\"read\"].aws_s3_bucket_policy.this.bucket}"
        ))
    );
}

#[test]
fn state_json_and_invalid_plans() {
    let state = r#"{"format_version":"1.0","values":{"root_module":{"resources":[
        {"address":"aws_s3_bucket.b","mode":"managed","type":"aws_s3_bucket","name":"b","values":{"bucket":"b"}}]}}}"#;
    let set = parse_plan("state.json", state);
    assert_eq!(addresses(&set), vec!["aws_s3_bucket.b"]);
    assert_eq!(set.resources[0].start_line, 2);

    let bad = parse_plan("bad.json", "{\n  \"planned_values\": {\n    oops\n}");
    assert!(bad.resources.is_empty());
    assert_eq!(bad.errors[0].line, Some(3));

    let not_plan = parse_plan("other.json", r#"{"hello": 1}"#);
    assert_eq!(not_plan.errors.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn hcl_path_never_panics(content in "\\PC{0,400}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), &content).unwrap();
        let _ = scan_dirs(dir.path(), &[dir.path().to_path_buf()]);
    }

    #[test]
    fn hcl_like_input_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "resource \"a\" \"b\" {", "}", "{", "count = ", "for_each = ", "local.x", "var.y",
            "locals {", "x = ", "[for k, v in ", " : ", "]", "${", "\"", "\n", "module \"m\" { source = \"./\"",
            "dynamic \"d\" { for_each = ", "content {", "jsonencode(", ")", "*", "[*]", "1", "-", "? ", "null",
            "range(", "99999999", "each.value", "count.index", "try(", ",", "%{ for x in ", "%{ endfor }",
        ]), 0..40)
    ) {
        let content: String = parts.concat();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), &content).unwrap();
        let _ = scan_dirs(dir.path(), &[dir.path().to_path_buf()]);
    }

    #[test]
    fn plan_parser_never_panics(content in "\\PC{0,400}") {
        let _ = parse_plan("p.json", &content);
    }

    #[test]
    fn plan_like_json_never_panics(value in arb_json()) {
        let doc = json!({"planned_values": {"root_module": value.clone()},
                         "resource_changes": [{"address": "a.b", "change": {"after_unknown": value.clone()}}],
                         "configuration": {"root_module": value}});
        let _ = parse_plan("p.json", &doc.to_string());
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "resources",
            "address",
            "a.b",
            "managed",
            "values",
            "var.x"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "resources",
                    "child_modules",
                    "address",
                    "type",
                    "name",
                    "mode",
                    "values",
                    "expressions",
                    "references",
                    "module_calls",
                    "module",
                    "bucket",
                ])
                .prop_map(str::to_string),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
