#!/usr/bin/env python3
"""Deterministic corpora for bench/secrets.sh (Python standard library only).

    gen_secrets_corpus.py tree OUT [--mb 320]            working tree with planted secrets
    gen_secrets_corpus.py sample OUT --of CORPUS --percent P   a subset of a tree (hard links)
    gen_secrets_corpus.py history OUT --commits N        bare git repository (git fast-import)
    gen_secrets_corpus.py append REPO --commits 10 --labels FILE   N more commits on main

tree: OUT/tree/ is a monorepo of services in Python, JavaScript, TypeScript, Go
and Java with YAML, JSON, Terraform, Markdown, shell, .env files, lockfiles
with integrity hashes and minified bundles (files of 1 KB to 2 MB), and
OUT/labels.tsv lists every planted secret and decoy: path, line, kind, label
(`secret` or `decoy`) and end_line (the END line of a PEM block, else line). Secrets are of 18 kinds (AWS key pairs, GitHub and npm
tokens with valid checksums, Slack, Stripe, SendGrid, GitLab, Google, OpenAI,
Twilio, Azure storage keys, PEM private keys, JWTs, connection strings with
passwords, generic passwords) in realistic contexts; decoys are documentation
examples (AKIAIOSFODNN7EXAMPLE), placeholders (changeme, ${VAR}, <your-key>),
UUIDs, hex digests, integrity hashes, public certificates and tokens whose
checksum is wrong.

history: OUT/repo.git with N commits on main (plus feature branches, some
merged, some left open, and tags), made by streaming into `git fast-import`;
about 2% of commits plant a secret, 40% of planted secrets are removed again
later. OUT/labels.tsv: commit, path, line, kind, label, present_at_head.

Everything comes from one seeded random generator: the same arguments give
byte-identical output.
"""

import argparse
import base64
import hashlib
import itertools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import zlib

SEED = 20261201

# ---------------------------------------------------------------------------
# vocabulary

NOUNS = (
    "user order invoice account session payment product cart item customer report event message "
    "queue job task config cache metric tenant region bucket record profile address shipment "
    "refund coupon subscription plan webhook notification template document upload image "
    "audit policy role group member team project workspace ticket comment review rating "
    "catalog inventory warehouse carrier route schedule slot booking reservation ledger "
    "transaction balance transfer payout vendor contract quote lead campaign segment"
).split()
VERBS = (
    "get create update delete list fetch sync load save validate parse render handle process "
    "compute build resolve apply merge split normalize export import archive restore refresh "
    "publish consume dispatch enqueue retry schedule cancel approve reject notify"
).split()
ADJ = "active pending archived primary default internal external legacy shared remote local".split()
SERVICES = (
    "billing checkout catalog identity notifications search shipping pricing inventory ledger "
    "analytics gateway payments accounts onboarding reporting scheduler media reviews support "
    "partners fulfillment loyalty fraud tax"
).split()
LANG_BY_SERVICE = ["py", "ts", "go", "java", "js"]
FIRST = "alice bob carol dave erin frank grace heidi ivan judy mallory oscar peggy trent victor walter".split()
LAST = "smith jones brown taylor wilson davies evans thomas roberts walker wright green hall wood".split()
HOSTS = ["db.internal", "pg-primary.prod.svc", "10.0.3.17", "orders-db.c9x2k1.eu-west-1.rds.amazonaws.com",
         "mysql.staging.local", "cluster0.p4xq1.mongodb.net", "redis-master.cache.svc", "rabbitmq.mq.svc"]
PKG_WORDS = (
    "react lodash axios express chalk debug commander yargs moment dayjs uuid semver glob rimraf "
    "webpack babel eslint prettier jest mocha sinon chai typescript rollup vite esbuild postcss "
    "tailwind zod yup redux immer rxjs socket ws cors helmet morgan dotenv pino winston ajv "
    "minimist tslib core util parser loader plugin preset runtime types compat polyfill"
).split()

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B64 = B62 + "+/"
B64URL = B62 + "-_"
UPPER_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PWCHARS = B62 + "!#%^*-_=+.@"
PLACEHOLDER_WORDS = ("example", "changeme", "change_me", "placeholder", "your", "dummy", "fake", "sample",
                     "redacted", "insert", "replace", "xxxx", "test", "demo")


_UID = itertools.count(1)


def uid():
    """A number used once: YAML files are mappings with unique top-level keys."""
    return next(_UID)


def rs(r, alphabet, n):
    return "".join(r.choices(alphabet, k=n))


def clean(r, alphabet, n):
    """A random string that contains no placeholder-looking word."""
    while True:
        s = rs(r, alphabet, n)
        low = s.lower()
        if not any(w in low for w in PLACEHOLDER_WORDS):
            return s


def base62_fixed(value, width=6):
    out = []
    for _ in range(width):
        out.append(B62[value % 62])
        value //= 62
    return "".join(reversed(out))


def checksum_token(r, prefix):
    payload = clean(r, B62, 30)
    return prefix + payload + base62_fixed(zlib.crc32(payload.encode()) & 0xFFFFFFFF)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------------
# secret values

def v_aws_id(r):
    return "AKIA" + clean(r, B32, 16)


def v_aws_secret(r):
    return clean(r, B64, 40)


def v_ghp(r):
    return checksum_token(r, "ghp_")


def v_github_fine(r):
    return "github_pat_11" + clean(r, UPPER_ALNUM, 20) + "_" + clean(r, B62, 59)


def v_gitlab(r):
    return "glpat-" + clean(r, B62 + "-_", 20)


def v_slack_bot(r):
    return "xoxb-%d-%d-%s" % (r.randint(10**10, 10**12), r.randint(10**12, 10**13), clean(r, B62, 24))


def v_slack_webhook(r):
    return "https://hooks.slack.com/services/T%s/B%s/%s" % (
        clean(r, UPPER_ALNUM, 8), clean(r, UPPER_ALNUM, 10), clean(r, B62, 24))


def v_stripe(r):
    if r.random() < 0.5:
        return "sk_live_" + clean(r, B62, 24)
    return "sk_live_51" + clean(r, B62, 97)


def v_sendgrid(r):
    return "SG." + clean(r, B64URL, 22) + "." + clean(r, B64URL, 43)


def v_npm(r):
    return checksum_token(r, "npm_")


def v_google(r):
    return "AIza" + clean(r, B64URL, 35)


def v_openai(r):
    return "sk-proj-" + clean(r, B64URL, 40) + clean(r, B62, 20) + "T3BlbkFJ" + clean(r, B62, 20)


def v_twilio(r):
    return "SK" + clean(r, HEX, 32)


def v_azure(r):
    return base64.b64encode(r.randbytes(64)).decode()


def v_jwt(r):
    header = b64url(json.dumps({"alg": r.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"},
                               separators=(",", ":")).encode())
    payload = {"sub": str(r.randint(10000, 999999)), "name": "%s %s" % (r.choice(FIRST).title(), r.choice(LAST).title()),
               "iat": 1700000000 + r.randint(0, 10**7), "exp": 1800000000 + r.randint(0, 10**7),
               "scope": r.choice(["read", "read write", "admin", "orders:write"])}
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = b64url(r.randbytes(32 if header.startswith("eyJhbGciOiJIUzI1") else 64))
    return "%s.%s.%s" % (header, body, sig)


def v_password(r):
    if r.random() < 0.7:
        return clean(r, PWCHARS, r.randint(14, 28))
    # a human-made password: words, digits, a symbol (lower entropy)
    w1 = r.choice(["Summer", "Winter", "Falcon", "Rocket", "Orange", "Harbor", "Maple", "Cobalt"])
    w2 = r.choice(["Tiger", "River", "Stone", "Cloud", "Pixel", "Ember", "Delta", "Quartz"])
    return "%s%s%d%s" % (w1, w2, r.randint(10, 9999), r.choice("!#@%&*"))


def v_conn_password(r):
    return clean(r, B62, r.randint(14, 24))


PEM_PREFIX = {
    "RSA PRIVATE KEY": (bytes.fromhex("308204a40201000282010100"), 1192),
    "PRIVATE KEY": (bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"), 1217),
    "EC PRIVATE KEY": (bytes.fromhex("307702010104"), 121),
    "OPENSSH PRIVATE KEY": (b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00", 400),
}


def v_pem(r, kind=None):
    kind = kind or r.choice(list(PEM_PREFIX))
    prefix, size = PEM_PREFIX[kind]
    body = base64.b64encode(prefix + r.randbytes(size - len(prefix))).decode()
    lines = ["-----BEGIN %s-----" % kind]
    lines += [body[i:i + 64] for i in range(0, len(body), 64)]
    lines.append("-----END %s-----" % kind)
    return lines


# ---------------------------------------------------------------------------
# planted secrets: kind -> file family -> snippet makers
#
# A snippet maker returns (lines, [(line_index, kind)]): the lines to insert
# and where in them each planted value is.

def one(kind, text):
    return [text], [(0, kind)]


def aws_pair(r, fam):
    i, s = v_aws_id(r), v_aws_secret(r)
    if fam == "py":
        return (["s3 = boto3.client(", '    "s3",', '    aws_access_key_id="%s",' % i,
                 '    aws_secret_access_key="%s",' % s, '    region_name="eu-west-1",', ")"],
                [(2, "aws-access-key-id"), (3, "aws-secret-access-key")])
    if fam in ("js", "ts"):
        return (["const s3 = new S3Client({", '  region: "us-east-1",', "  credentials: {",
                 '    accessKeyId: "%s",' % i, '    secretAccessKey: "%s",' % s, "  },", "});"],
                [(3, "aws-access-key-id"), (4, "aws-secret-access-key")])
    if fam == "go":
        return (['\taccessKey := "%s"' % i, '\tsecretKey := "%s"' % s,
                 '\tcreds := credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")'],
                [(0, "aws-access-key-id"), (1, "aws-secret-access-key")])
    if fam == "java":
        return (['    private static final String AWS_ACCESS_KEY = "%s";' % i,
                 '    private static final String AWS_SECRET_KEY = "%s";' % s],
                [(0, "aws-access-key-id"), (1, "aws-secret-access-key")])
    if fam == "yaml":
        return (["aws_%d:" % uid(), "  access_key_id: %s" % i, "  secret_access_key: %s" % s, "  region: eu-central-1"],
                [(1, "aws-access-key-id"), (2, "aws-secret-access-key")])
    if fam == "tf":
        return (['provider "aws" {', '  region     = "us-west-2"', '  access_key = "%s"' % i,
                 '  secret_key = "%s"' % s, "}"], [(2, "aws-access-key-id"), (3, "aws-secret-access-key")])
    if fam == "env":
        return (["AWS_ACCESS_KEY_ID=%s" % i, "AWS_SECRET_ACCESS_KEY=%s" % s],
                [(0, "aws-access-key-id"), (1, "aws-secret-access-key")])
    if fam == "sh":
        return (["export AWS_ACCESS_KEY_ID=%s" % i, "export AWS_SECRET_ACCESS_KEY=%s" % s],
                [(0, "aws-access-key-id"), (1, "aws-secret-access-key")])
    if fam == "md":
        return (["```ini", "[default]", "aws_access_key_id = %s" % i, "aws_secret_access_key = %s" % s, "```"],
                [(2, "aws-access-key-id"), (3, "aws-secret-access-key")])
    if fam == "json":
        return (['  {"name": "uploader", "awsAccessKeyId": "%s",' % i, '   "awsSecretAccessKey": "%s"},' % s],
                [(0, "aws-access-key-id"), (1, "aws-secret-access-key")])
    return None


def assign(fam, name, value, kind, json_key=None):
    """`name = "value"` in the syntax of the family."""
    if fam == "py":
        return one(kind, '%s = "%s"' % (name.upper(), value))
    if fam in ("js", "ts"):
        return one(kind, 'const %s = "%s";' % (camel(name), value))
    if fam == "go":
        return one(kind, 'var %s = "%s"' % (camel(name), value))
    if fam == "java":
        return one(kind, '    private static final String %s = "%s";' % (name.upper(), value))
    if fam == "yaml":
        return ["settings_%d:" % uid(), '  %s: "%s"' % (name.lower(), value)], [(1, kind)]
    if fam == "json":
        return one(kind, '  {"id": "%s", "%s": "%s"},' % (name.lower(), json_key or camel(name), value))
    if fam == "tf":
        return one(kind, '  %s = "%s"' % (name.lower(), value))
    if fam == "env":
        return one(kind, "%s=%s" % (name.upper(), value))
    if fam == "sh":
        return one(kind, 'export %s="%s"' % (name.upper(), value))
    return None


def camel(name):
    parts = name.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def token_snippet(kind, value_fn, names, extra=None):
    def make(r, fam):
        v = value_fn(r)
        if extra:
            got = extra(r, fam, v)
            if got:
                return got
        return assign(fam, r.choice(names), v, kind)
    return make


def ghp_extra(r, fam, v):
    if fam == "md" or (fam == "sh" and r.random() < 0.5):
        return (["git clone https://%s@github.com/acme-corp/%s.git" % (v, r.choice(SERVICES))], [(0, "github-pat")])
    if fam == "yaml" and r.random() < 0.5:
        return (["workflow_%d:" % uid(), "  steps:", "    - name: Checkout tools", "      uses: actions/checkout@v4",
                 "      with:", "        token: %s" % v], [(5, "github-pat")])
    if fam == "py" and r.random() < 0.5:
        return (['gh = Github("%s")' % v], [(0, "github-pat")])
    return None


def slack_extra(r, fam, v):
    if fam == "py":
        return (['slack = WebClient(token="%s")' % v], [(0, "slack-bot-token")])
    if fam in ("js", "ts"):
        return (["const slack = new WebClient('%s');" % v], [(0, "slack-bot-token")])
    return None


def stripe_extra(r, fam, v):
    if fam == "py":
        return (['stripe.api_key = "%s"' % v], [(0, "stripe-secret-key")])
    if fam in ("js", "ts"):
        return (["const stripe = require('stripe')('%s');" % v], [(0, "stripe-secret-key")])
    return None


def google_extra(r, fam, v):
    if fam in ("js", "ts", "minjs"):
        if fam == "minjs":
            return (['var %s={apiKey:"%s",authDomain:"%s-prod.firebaseapp.com",projectId:"%s-prod"}'
                     % (rs(r, "abcdefghijklmnopqrstuvwxyz", 2), v, r.choice(SERVICES), r.choice(SERVICES))],
                    [(0, "google-api-key")])
        return (["const firebaseConfig = {", '  apiKey: "%s",' % v,
                 '  authDomain: "%s-prod.firebaseapp.com",' % r.choice(SERVICES),
                 '  projectId: "%s-prod",' % r.choice(SERVICES), "};"], [(1, "google-api-key")])
    if fam == "json":
        return (['  {"client_info": {"package_name": "com.acme.%s"}, "api_key": [{"current_key": "%s"}]},'
                 % (r.choice(SERVICES), v)], [(0, "google-api-key")])
    if fam == "py" and r.random() < 0.5:
        return (['MAPS_URL = "https://maps.googleapis.com/maps/api/geocode/json?key=%s"' % v], [(0, "google-api-key")])
    return None


def jwt_snippet(r, fam):
    v = v_jwt(r)
    if fam == "md":
        return (["```sh", "curl -s https://api.acme-corp.io/v2/%ss \\" % r.choice(NOUNS),
                 '  -H "Authorization: Bearer %s"' % v, "```"], [(2, "jwt")])
    if fam == "sh":
        return (['curl -sf -H "Authorization: Bearer %s" "$API/%ss"' % (v, r.choice(NOUNS))], [(0, "jwt")])
    if fam == "py":
        return (['HEADERS = {"Authorization": "Bearer %s"}' % v], [(0, "jwt")])
    if fam == "json":
        return (['  {"fixture": "session", "access_token": "%s", "token_type": "Bearer"},' % v], [(0, "jwt")])
    if fam == "minjs":
        return (['headers:{Authorization:"Bearer %s"}' % v], [(0, "jwt")])
    return assign(fam, r.choice(["service_token", "auth_token", "access_token", "id_token"]), v, "jwt")


def pem_snippet(r, fam):
    key = v_pem(r)
    if fam == "pem":
        return key, [(0, "private-key")]
    if fam == "yaml":
        return (["tls_%d:" % uid(), "  key: |"] + ["    " + l for l in key], [(2, "private-key")])
    if fam == "py":
        return (['SIGNING_KEY = """' + key[0]] + key[1:] + ['"""'], [(0, "private-key")])
    if fam in ("js", "ts"):
        return (["const privateKey = `" + key[0]] + key[1:] + ["`;"], [(0, "private-key")])
    if fam == "tf":
        return (['  private_key = <<EOT'] + key + ["EOT"], [(1, "private-key")])
    if fam == "json":
        # a GCP service account key: the PEM on one line with escaped newlines
        pk = "\\n".join(v_pem(r, "PRIVATE KEY")) + "\\n"
        return (['  {"type": "service_account", "project_id": "acme-%s", "private_key_id": "%s", "private_key": "%s", '
                 '"client_email": "%s@acme-%s.iam.gserviceaccount.com"},'
                 % (r.choice(SERVICES), rs(r, HEX, 40), pk, r.choice(SERVICES), r.choice(SERVICES))],
                [(0, "private-key")])
    if fam == "md":
        return (["```"] + key + ["```"], [(1, "private-key")])
    return None


def conn_snippet(r, fam):
    user = r.choice(["app", "orders", "svc_" + r.choice(SERVICES), "admin", "etl", r.choice(FIRST)])
    pw = v_conn_password(r)
    scheme, port, path = r.choice([("postgres", 5432, "/app"), ("postgresql", 5432, "/orders"),
                                   ("mysql", 3306, "/shop"), ("mongodb+srv", None, "/app?retryWrites=true"),
                                   ("redis", 6379, "/0"), ("amqp", 5672, "/")])
    host = r.choice(HOSTS)
    url = "%s://%s:%s@%s%s%s" % (scheme, user, pw, host, ":%d" % port if port else "", path)
    name = r.choice(["database_url", "db_url", "broker_url", "cache_url", "mongo_uri", "sqlalchemy_database_uri"])
    if fam == "md":
        return (["```sh", "psql '%s'" % url, "```"], [(1, "connection-string")])
    if fam == "yaml":
        return (["datasource_%d:" % uid(), "  url: %s" % url], [(1, "connection-string")])
    return assign(fam, name, url, "connection-string")


def password_snippet(r, fam):
    v = v_password(r)
    name = r.choice(["db_password", "admin_password", "client_secret", "api_secret", "smtp_password",
                     "redis_password", "secret_key", "jwt_secret", "encryption_key", "password"])
    if fam == "yaml":
        return (["%s_%d:" % (r.choice(["database", "smtp", "admin", "auth"]), uid()), "  username: %s" % r.choice(FIRST),
                 '  password: "%s"' % v], [(2, "generic-password")])
    if fam == "json":
        return (['  {"username": "%s", "password": "%s", "role": "admin"},' % (r.choice(FIRST), v)],
                [(0, "generic-password")])
    if fam == "md":
        return (["Staging admin login: `%s` / `%s`" % (r.choice(FIRST), v)], [(0, "generic-password")])
    return assign(fam, name, v, "generic-password")


def npm_snippet(r, fam):
    v = v_npm(r)
    if fam == "npmrc":
        return (["//registry.npmjs.org/:_authToken=%s" % v], [(0, "npm-token")])
    if fam == "yaml":
        return (["publish_%d:" % uid(), "  steps:", "    - run: npm publish", "      env:",
                 "        NODE_AUTH_TOKEN: %s" % v], [(4, "npm-token")])
    return assign(fam, "npm_token", v, "npm-token")


def azure_snippet(r, fam):
    v = v_azure(r)
    acct = r.choice(SERVICES) + "store" + str(r.randint(1, 99))
    conn = "DefaultEndpointsProtocol=https;AccountName=%s;AccountKey=%s;EndpointSuffix=core.windows.net" % (acct, v)
    return assign(fam, "azure_storage_connection_string", conn, "azure-storage-key")


def twilio_snippet(r, fam):
    v = v_twilio(r)
    got = assign(fam, "twilio_api_key", v, "twilio-api-key")
    if got and fam in ("env", "py", "yaml"):
        sid, sec = "AC" + rs(r, HEX, 32), clean(r, B62, 32)
        second = assign(fam, "twilio_api_secret", sec, "twilio-api-secret")
        return got[0] + second[0], got[1] + [(len(got[0]) + dl, k) for dl, k in second[1]]
    return got


SECRET_KINDS = {
    # kind: (weight, snippet maker, families it can go in)
    "aws": (30, aws_pair, "py js ts go java yaml tf env sh md json"),
    "github-pat": (30, token_snippet("github-pat", v_ghp, ["github_token", "gh_token", "github_pat"], ghp_extra),
                   "py js ts go java yaml env sh md"),
    "github-fine-grained-pat": (10, token_snippet("github-fine-grained-pat", v_github_fine, ["github_token"]),
                                "py js ts yaml env sh"),
    "gitlab-pat": (15, token_snippet("gitlab-pat", v_gitlab, ["gitlab_token", "ci_registry_token"]),
                   "py go yaml env sh"),
    "slack-bot-token": (20, token_snippet("slack-bot-token", v_slack_bot, ["slack_bot_token", "slack_token"], slack_extra),
                        "py js ts go yaml env"),
    "slack-webhook": (12, token_snippet("slack-webhook", v_slack_webhook, ["slack_webhook_url", "alerts_webhook"]),
                      "py js ts go yaml env sh"),
    "stripe-secret-key": (20, token_snippet("stripe-secret-key", v_stripe, ["stripe_secret_key", "stripe_api_key"], stripe_extra),
                          "py js ts go java yaml env"),
    "sendgrid-api-key": (15, token_snippet("sendgrid-api-key", v_sendgrid, ["sendgrid_api_key", "mail_api_key"]),
                         "py js ts java yaml env"),
    "npm-token": (12, npm_snippet, "npmrc yaml env sh"),
    "google-api-key": (20, token_snippet("google-api-key", v_google, ["google_api_key", "maps_api_key"], google_extra),
                       "py js ts json minjs yaml env"),
    "openai-api-key": (12, token_snippet("openai-api-key", v_openai, ["openai_api_key"]), "py js ts env yaml"),
    "twilio": (10, twilio_snippet, "py js ts env yaml"),
    "azure-storage-key": (10, azure_snippet, "py java yaml env json"),
    "private-key": (25, pem_snippet, "pem yaml py js ts tf json md"),
    "jwt": (25, jwt_snippet, "md sh py json js ts minjs yaml"),
    "connection-string": (30, conn_snippet, "env yaml py js ts go java md"),
    "generic-password": (45, password_snippet, "py js ts go java yaml json tf env sh md"),
}


# ---------------------------------------------------------------------------
# decoys: look like secrets, are not (labelled `decoy`)

def d_aws_example(r, fam):
    if fam == "md":
        return (["```sh", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
                 "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "```"],
                [(1, "decoy-aws-example"), (2, "decoy-aws-example")])
    return assign(fam, "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE", "decoy-aws-example")


def d_placeholder(r, fam):
    name = r.choice(["db_password", "api_key", "github_token", "secret_key", "stripe_secret_key", "auth_token"])
    value = r.choice(["changeme", "${%s}" % name.upper(), "<your-%s>" % name.replace("_", "-"),
                      "{{ .Values.%s }}" % camel(name), "xxxxxxxxxxxxxxxxxxxxxxxx", "%%%s%%" % name.upper(),
                      "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
                      "REPLACE_ME", "********", "your-api-key-here", "$(cat /run/secrets/%s)" % name])
    return assign(fam, name, value, "decoy-placeholder")


def d_uuid(r, fam):
    u = "%s-%s-4%s-%s%s-%s" % (rs(r, HEX, 8), rs(r, HEX, 4), rs(r, HEX, 3), r.choice("89ab"), rs(r, HEX, 3), rs(r, HEX, 12))
    return assign(fam, r.choice(["tenant_id", "client_id", "request_id", "subscription_id", "api_key_id"]), u, "decoy-uuid")


def d_hash(r, fam):
    n = r.choice([40, 64, 64, 32])
    return assign(fam, r.choice(["checksum", "sha256", "commit_sha", "etag", "content_hash", "key_fingerprint"]),
                  rs(r, HEX, n), "decoy-hash")


def d_integrity(r, fam):
    v = "sha%s-%s" % (r.choice(["384", "512"]), base64.b64encode(r.randbytes(r.choice([48, 64]))).decode())
    if fam == "md":
        return (['<script src="https://cdn.jsdelivr.net/npm/%s@%d.%d.%d/dist/%s.min.js" integrity="%s" crossorigin="anonymous"></script>'
                 % (r.choice(PKG_WORDS), r.randint(1, 9), r.randint(0, 20), r.randint(0, 30), r.choice(PKG_WORDS), v)],
                [(0, "decoy-integrity")])
    if fam == "tf":
        return one("decoy-integrity", '  source_code_hash = "%s"' % base64.b64encode(r.randbytes(32)).decode())
    return assign(fam, "integrity", v, "decoy-integrity")


def d_bad_checksum(r, fam):
    v = "ghp_" + clean(r, B62, 36)
    return assign(fam, r.choice(["invalid_token", "revoked_token", "malformed_token"]), v, "decoy-invalid-token")


def d_cert(r, fam):
    body = base64.b64encode(bytes.fromhex("3082") + r.randbytes(r.randint(700, 1000))).decode()
    kind = r.choice(["CERTIFICATE", "PUBLIC KEY"])
    lines = ["-----BEGIN %s-----" % kind] + [body[i:i + 64] for i in range(0, len(body), 64)] + ["-----END %s-----" % kind]
    if fam == "pem":
        return lines, [(0, "decoy-certificate")]
    return ["ca_bundle_%d: |" % uid()] + ["  " + l for l in lines], [(1, "decoy-certificate")]


def d_publishable(r, fam):
    v = "pk_live_" + clean(r, B62, 24)
    if fam == "minjs":
        return one("decoy-publishable-key", 'Stripe("%s")' % v)
    return assign(fam, "stripe_publishable_key", v, "decoy-publishable-key")


DECOY_KINDS = {
    "decoy-aws-example": (20, d_aws_example, "md py yaml env"),
    "decoy-placeholder": (60, d_placeholder, "py js ts go java yaml json tf env sh"),
    "decoy-uuid": (40, d_uuid, "py js ts go java yaml json tf env"),
    "decoy-hash": (40, d_hash, "py js ts go yaml json tf env"),
    "decoy-integrity": (30, d_integrity, "md json tf"),
    "decoy-invalid-token": (15, d_bad_checksum, "py js ts go"),
    "decoy-certificate": (15, d_cert, "pem yaml"),
    "decoy-publishable-key": (15, d_publishable, "minjs js ts env"),
}


# ---------------------------------------------------------------------------
# filler: one chunk (a few lines) of each file type

def n1(r):
    return r.choice(NOUNS)


def v1(r):
    return r.choice(VERBS)


def py_chunk(r):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    k = r.randrange(9)
    if k == 0:
        return (f"def {v}_{n}(self, {m}_id, *, timeout={r.choice([5, 10, 30, 60])}):\n"
                f'    """{v.title()} the {n} of a {m}."""\n'
                f'    cache_key = f"{n}:{{{m}_id}}"\n'
                f"    cached = self.cache.get(cache_key)\n"
                f"    if cached is not None:\n"
                f"        return cached\n"
                f'    resp = self.session.get(f"{{self.base_url}}/{m}s/{{{m}_id}}/{n}", timeout=timeout)\n'
                f"    resp.raise_for_status()\n"
                f'    result = resp.json()["{n}"]\n'
                f"    self.cache.set(cache_key, result, ttl={r.choice([60, 300, 3600])})\n"
                f"    return result\n\n\n")
    if k == 1:
        return (f"class {n.title()}{m.title()}Serializer(serializers.ModelSerializer):\n"
                f"    {m}_id = serializers.IntegerField(source=\"{m}.id\", read_only=True)\n"
                f"    {a}_{n}s = serializers.SerializerMethodField()\n\n"
                f"    class Meta:\n"
                f"        model = {n.title()}\n"
                f'        fields = ("id", "{m}_id", "{a}_{n}s", "created_at", "updated_at")\n\n'
                f"    def get_{a}_{n}s(self, obj):\n"
                f"        return [x.pk for x in obj.{n}s.filter(status=\"{a}\")[:{r.randint(5, 100)}]]\n\n\n")
    if k == 2:
        return (f"@router.post(\"/{n}s/{{{n}_id}}/{v}\")\n"
                f"async def {v}_{n}({n}_id: int, payload: {n.title()}In, user=Depends(current_user)):\n"
                f"    token = request_token(user)\n"
                f"    if not token.has_scope(\"{n}s:write\"):\n"
                f"        raise HTTPException(status_code=403, detail=\"missing scope\")\n"
                f"    async with db.transaction():\n"
                f"        {n} = await {n.title()}.get({n}_id)\n"
                f"        await {n}.{v}(**payload.dict(exclude_unset=True))\n"
                f"    log.info(\"{n} %s {v} by %s\", {n}_id, user.id)\n"
                f"    return {{\"id\": {n}_id, \"status\": \"{a}\"}}\n\n\n")
    if k == 3:
        return (f"    def test_{v}_{n}_{a}(self):\n"
                f"        {n} = {n.title()}Factory(status=\"{a}\", {m}={m.title()}Factory())\n"
                f"        response = self.client.post(reverse(\"{n}-{v}\", args=[{n}.pk]), HTTP_AUTHORIZATION=self.auth_header)\n"
                f"        self.assertEqual(response.status_code, {r.choice([200, 201, 204, 400, 404])})\n"
                f"        self.assertEqual({n.title()}.objects.filter({m}={n}.{m}).count(), {r.randint(0, 9)})\n\n")
    if k == 4:
        return (f"{n.upper()}_{m.upper()}_LIMIT = {r.randint(10, 5000)}\n"
                f"{a.upper()}_{n.upper()}_TTL = timedelta(minutes={r.randint(1, 120)})\n"
                f'{n.upper()}_API_KEY = os.environ.get("{n.upper()}_API_KEY")\n'
                f'{m.upper()}_SECRET = settings.{m.upper()}_SECRET\n\n')
    if k == 5:
        return (f"    for key, value in sorted({n}_map.items()):\n"
                f"        if key.startswith(\"{a}_\"):\n"
                f"            {m}s[key[{len(a) + 1}:]] = normalize_{m}(value)\n"
                f"        elif value is None:\n"
                f"            missing.append(key)\n")
    if k == 6:
        return (f"def _hash_{n}(password: str, salt: bytes) -> str:\n"
                f"    digest = hashlib.pbkdf2_hmac(\"sha256\", password.encode(), salt, {r.choice([100000, 210000, 600000])})\n"
                f"    return base64.b64encode(salt + digest).decode()\n\n\n")
    if k == 7:
        return (f"# {v.title()} {n}s in batches of {r.randint(10, 500)}; the {m} service rate-limits to "
                f"{r.randint(5, 100)} requests per second per auth token.\n")
    return (f"from {r.choice(SERVICES)}.{n}s import {n.title()}, {v}_{n}\n"
            f"from {r.choice(SERVICES)}.{m}s.models import {m.title()}\n")


def js_chunk(r, ts=False):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    t = (lambda s: s) if ts else (lambda s: "")
    k = r.randrange(8)
    if k == 0:
        return (f"export async function {v}{n.title()}({m}Id{t(': string')}, opts{t(': RequestOptions')} = {{}}){t(f': Promise<{n.title()}>')} {{\n"
                f"  const token = await getAccessToken(opts.scope ?? '{n}s:read');\n"
                f"  const res = await fetch(`${{API_BASE}}/{m}s/${{{m}Id}}/{n}`, {{\n"
                f"    method: '{r.choice(['GET', 'POST', 'PUT'])}',\n"
                f"    headers: {{ Authorization: `Bearer ${{token}}`, 'Content-Type': 'application/json' }},\n"
                f"  }});\n"
                f"  if (!res.ok) throw new HttpError(res.status, `{v} {n} failed`);\n"
                f"  return (await res.json()){t(f' as {n.title()}')};\n"
                f"}}\n\n")
    if k == 1:
        return (f"const {a}{n.title()}s = useMemo(\n"
                f"  () => {n}s.filter((x) => x.status === '{a}').sort((x, y) => x.key.localeCompare(y.key)),\n"
                f"  [{n}s],\n"
                f");\n")
    if k == 2:
        return (f"export interface {n.title()}{m.title()} {{\n"
                f"  id: string;\n  {m}Id: number;\n  status: '{a}' | 'archived';\n  apiKeyId?: string;\n"
                f"  createdAt: Date;\n}}\n\n") if ts else (
                f"module.exports.{v}{n.title()} = function {v}{n.title()}(req, res, next) {{\n"
                f"  const apiKey = req.get('x-api-key') || process.env.{n.upper()}_API_KEY;\n"
                f"  if (!apiKey) return res.status(401).json({{ error: 'missing api key' }});\n"
                f"  return {m}Service.{v}(req.params.id).then((r) => res.json(r)).catch(next);\n}};\n\n")
    if k == 3:
        return (f"describe('{v}{n.title()}', () => {{\n"
                f"  it('returns {a} {n}s for a {m}', async () => {{\n"
                f"    nock(API_BASE).get('/{m}s/{r.randint(1, 999)}/{n}').reply(200, {{ id: '{r.randint(1, 99999)}', status: '{a}' }});\n"
                f"    await expect({v}{n.title()}('{r.randint(1, 999)}')).resolves.toMatchObject({{ status: '{a}' }});\n"
                f"  }});\n}});\n\n")
    if k == 4:
        return (f"const {n.upper()}_{m.upper()}_TIMEOUT_MS = {r.randint(100, 60000)};\n"
                f"const {n}CacheKey = ({m}Id{t(': string')}) => `{n}:${{{m}Id}}`;\n")
    if k == 5:
        return (f"import {{ {v}{n.title()}, {m.title()}Card }} from '../{r.choice(SERVICES)}/{n}';\n"
                f"import {{ useAuth }} from '@/hooks/useAuth';\n")
    if k == 6:
        return (f"  // {v} the {n} before the {m} token expires; the session keeps the refresh token\n"
                f"  if (session.expiresAt - Date.now() < {r.randint(10, 600)} * 1000) await refreshSession(session);\n")
    return (f"router.{r.choice(['get', 'post', 'delete'])}('/{n}s/:id/{v}', requireAuth('{n}s:write'), async (req, res) => {{\n"
            f"  const {n} = await {n.title()}.findByPk(req.params.id);\n"
            f"  if (!{n}) return res.sendStatus(404);\n"
            f"  await {n}.{v}({{ by: req.user.id }});\n  res.json({n});\n}});\n\n")


def go_chunk(r):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    N, M = n.title(), m.title()
    k = r.randrange(6)
    if k == 0:
        return (f"func (s *{N}Service) {v.title()}{N}(ctx context.Context, {m}ID int64) (*{N}, error) {{\n"
                f"\tkey := fmt.Sprintf(\"{n}:%d\", {m}ID)\n"
                f"\tif cached, ok := s.cache.Get(key); ok {{\n\t\treturn cached.(*{N}), nil\n\t}}\n"
                f"\treq, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL+\"/{m}s/\"+strconv.FormatInt({m}ID, 10), nil)\n"
                f"\tif err != nil {{\n\t\treturn nil, fmt.Errorf(\"{v} {n}: %w\", err)\n\t}}\n"
                f"\treq.Header.Set(\"Authorization\", \"Bearer \"+s.token())\n"
                f"\tvar out {N}\n\tif err := s.do(req, &out); err != nil {{\n\t\treturn nil, err\n\t}}\n"
                f"\ts.cache.Set(key, &out, {r.randint(1, 60)}*time.Minute)\n\treturn &out, nil\n}}\n\n")
    if k == 1:
        return (f"type {N}{M} struct {{\n"
                f"\tID        int64     `json:\"id\" db:\"id\"`\n"
                f"\t{M}ID    int64     `json:\"{m}_id\" db:\"{m}_id\"`\n"
                f"\tStatus    string    `json:\"status\" db:\"status\"`\n"
                f"\tAPIKeyID  string    `json:\"api_key_id,omitempty\" db:\"api_key_id\"`\n"
                f"\tCreatedAt time.Time `json:\"created_at\" db:\"created_at\"`\n}}\n\n")
    if k == 2:
        return (f"func Test{v.title()}{N}_{a.title()}(t *testing.T) {{\n"
                f"\tsvc := new{N}Service(t)\n"
                f"\tgot, err := svc.{v.title()}{N}(context.Background(), {r.randint(1, 9999)})\n"
                f"\trequire.NoError(t, err)\n\tassert.Equal(t, \"{a}\", got.Status)\n}}\n\n")
    if k == 3:
        return (f"\tsecret := os.Getenv(\"{n.upper()}_SIGNING_SECRET\")\n"
                f"\tif secret == \"\" {{\n\t\tlog.Fatal(\"{n.upper()}_SIGNING_SECRET is not set\")\n\t}}\n")
    if k == 4:
        return (f"// {v.title()}{N} {v}s the {n} of a {m}. It retries up to {r.randint(2, 8)} times on 5xx\n"
                f"// responses and refreshes the auth token once on 401.\n")
    return (f"\tfor key, val := range {n}s {{\n\t\tif strings.HasPrefix(key, \"{a}.\") {{\n"
            f"\t\t\t{m}s[strings.TrimPrefix(key, \"{a}.\")] = val\n\t\t}}\n\t}}\n")


def java_chunk(r):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    N, M = n.title(), m.title()
    k = r.randrange(5)
    if k == 0:
        return (f"    @PostMapping(\"/{n}s/{{id}}/{v}\")\n"
                f"    public ResponseEntity<{N}Dto> {v}{N}(@PathVariable long id, @RequestHeader(\"Authorization\") String authorization) {{\n"
                f"        var token = tokenVerifier.verify(authorization.substring(7));\n"
                f"        if (!token.hasScope(\"{n}s:write\")) {{\n            return ResponseEntity.status(HttpStatus.FORBIDDEN).build();\n        }}\n"
                f"        var {n} = {n}Repository.findById(id).orElseThrow(() -> new NotFoundException(\"{n} \" + id));\n"
                f"        {n}.{v}(token.subject());\n        return ResponseEntity.ok({N}Dto.from({n}));\n    }}\n\n")
    if k == 1:
        return (f"    @Value(\"${{{r.choice(SERVICES)}.{m}.api-key}}\")\n    private String {m}ApiKey;\n\n"
                f"    @Value(\"${{{r.choice(SERVICES)}.{n}.timeout:{r.randint(1, 60)}s}}\")\n    private Duration {n}Timeout;\n\n")
    if k == 2:
        return (f"    @Test\n    void {v}{N}Returns{a.title()}() {{\n"
                f"        var {n} = new {N}({r.randint(1, 9999)}L, \"{a}\");\n"
                f"        when({n}Repository.findById(anyLong())).thenReturn(Optional.of({n}));\n"
                f"        assertThat(service.{v}{N}({n}.getId()).getStatus()).isEqualTo(\"{a}\");\n    }}\n\n")
    if k == 3:
        return (f"    private static final int {n.upper()}_{m.upper()}_LIMIT = {r.randint(10, 5000)};\n"
                f"    private static final String {n.upper()}_KEY_PREFIX = \"{n}:\";\n")
    return (f"    /**\n     * {v.title()}s the {n} of a {m}; the {m} must be {a}.\n"
            f"     * @param {m}Id the {m}\n     * @return the {n}, never null\n     */\n")


def yaml_chunk(r):
    n, svc, a = n1(r), r.choice(SERVICES), r.choice(ADJ)
    k = r.randrange(5)
    if k == 0:
        return (f"{svc}_{n}_{uid()}:\n  containers:\n    - name: {svc}-{n}\n"
                f"      image: registry.acme-corp.io/{svc}/{n}:{r.randint(1, 9)}.{r.randint(0, 40)}.{r.randint(0, 99)}\n"
                f"      env:\n        - name: {n.upper()}_API_KEY\n          valueFrom:\n            secretKeyRef:\n"
                f"              name: {svc}-secrets\n              key: {n}-api-key\n        - name: LOG_LEVEL\n"
                f"          value: {r.choice(['info', 'debug', 'warn'])}\n"
                f"      resources:\n        limits:\n          memory: {r.choice([128, 256, 512, 1024])}Mi\n")
    if k == 1:
        return (f"{n}_{uid()}:\n  enabled: {r.choice(['true', 'false'])}\n  batch_size: {r.randint(10, 1000)}\n"
                f"  endpoint: https://{svc}.internal.acme-corp.io/v{r.randint(1, 3)}/{n}s\n"
                f"  auth:\n    type: {r.choice(['oauth2', 'mtls', 'api-key'])}\n    token_url: https://auth.acme-corp.io/oauth/token\n"
                f"    client_id: {svc}-{n}\n    client_secret: ${{{svc.upper()}_{n.upper()}_CLIENT_SECRET}}\n")
    if k == 2:
        return (f"{svc}_{n}_{uid()}:\n  runs-on: ubuntu-latest\n  steps:\n    - uses: actions/checkout@v4\n"
                f"    - run: make {r.choice(['test', 'lint', 'build'])} SERVICE={svc}\n"
                f"      env:\n        GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}\n")
    if k == 3:
        return f"# {n} settings for the {a} {svc} deployment (see docs/{svc}.md)\n"
    return (f"{n}_{r.choice(NOUNS)}_{uid()}:\n  limit: {r.randint(1, 9999)}\n  {r.choice(NOUNS)}_key: {r.choice(NOUNS)}.{r.choice(NOUNS)}\n"
            f"  {r.choice(ADJ)}: {r.choice(['true', 'false'])}\n")


def json_chunk(r):
    n, m, a = n1(r), n1(r), r.choice(ADJ)
    if r.random() < 0.5:
        return (f'  {{"id": {r.randint(1, 10**6)}, "type": "{n}", "{m}Id": {r.randint(1, 10**5)}, "status": "{a}", '
                f'"tags": ["{r.choice(NOUNS)}", "{r.choice(ADJ)}"], "amount": {r.randint(1, 10**5) / 100}, '
                f'"createdAt": "2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"}},\n')
    return (f'  {{"key": "{n}.{m}", "label": "{n.title()} {m}", "apiKeyHeader": "X-Api-Key", '
            f'"tokenTtlSeconds": {r.choice([300, 900, 3600])}, "enabled": {r.choice(["true", "false"])}}},\n')


def tf_chunk(r):
    n, svc = n1(r), r.choice(SERVICES)
    k = r.randrange(4)
    if k == 0:
        return (f'resource "aws_db_instance" "{svc}_{n}" {{\n  identifier        = "{svc}-{n}"\n  engine            = "postgres"\n'
                f'  instance_class    = "db.t3.{r.choice(["micro", "small", "medium"])}"\n  username          = "{svc}"\n'
                f'  password          = var.{svc}_db_password\n  kms_key_id        = aws_kms_key.{svc}.arn\n  storage_encrypted = true\n}}\n\n')
    if k == 1:
        return (f'variable "{svc}_{n}_password" {{\n  type      = string\n  sensitive = true\n}}\n\n')
    if k == 2:
        return (f'resource "aws_secretsmanager_secret" "{svc}_{n}" {{\n  name       = "{svc}/{n}"\n'
                f'  kms_key_id = aws_kms_key.{svc}.id\n  tags       = local.tags\n}}\n\n')
    return (f'module "{svc}_{n}" {{\n  source  = "../modules/{n}"\n  name    = "{svc}-{n}"\n'
            f'  subnets = module.vpc.private_subnets\n  key_name = "{svc}-deploy"\n}}\n\n')


def md_chunk(r):
    n, m, v, svc = n1(r), n1(r), v1(r), r.choice(SERVICES)
    k = r.randrange(4)
    if k == 0:
        return (f"## {v.title()} a {n}\n\nThe {svc} service {v}s {n}s on behalf of a {m}. Requests need a bearer token "
                f"with the `{n}s:write` scope; tokens come from the identity service and expire after "
                f"{r.randint(5, 60)} minutes. API keys are read from the environment, never from this file.\n\n")
    if k == 1:
        return (f"```sh\ncurl -s -X POST https://api.acme-corp.io/v1/{n}s \\\n  -H \"Authorization: Bearer $TOKEN\" \\\n"
                f"  -d '{{\"{m}_id\": {r.randint(1, 999)}}}'\n```\n\n")
    if k == 2:
        return (f"| {n} | {m} | default |\n|---|---|---|\n| `{n}_timeout` | {m} | {r.randint(1, 90)}s |\n"
                f"| `{n}_api_key` | secret | from `{svc.upper()}_{n.upper()}_API_KEY` |\n\n")
    return f"- {v.title()} the {n} before the {m} ({svc}#{r.randint(100, 9999)}).\n"


def sh_chunk(r):
    n, svc = n1(r), r.choice(SERVICES)
    k = r.randrange(3)
    if k == 0:
        return (f"if [ -z \"${{{svc.upper()}_TOKEN:-}}\" ]; then\n  echo \"{svc.upper()}_TOKEN is not set\" >&2\n  exit 1\nfi\n")
    if k == 1:
        return (f"aws s3 sync \"dist/{n}\" \"s3://acme-{svc}-{n}/releases/$VERSION\" --only-show-errors\n"
                f"kubectl -n {svc} rollout status deploy/{svc}-{n} --timeout={r.randint(60, 600)}s\n")
    return f"# {n}: {v1(r)} before deploying {svc}\n"


def env_chunk(r):
    n, svc = n1(r), r.choice(SERVICES)
    return r.choice([
        f"{n.upper()}_TIMEOUT={r.randint(1, 120)}\n",
        f"{svc.upper()}_URL=https://{svc}.internal.acme-corp.io\n",
        f"LOG_LEVEL={r.choice(['info', 'debug', 'warn'])}\n",
        f"# {n} settings\n",
        f"{n.upper()}_ENABLED={r.choice(['true', 'false'])}\n",
        f"{svc.upper()}_{n.upper()}_KEY_ID={n}-{r.randint(1, 20)}\n",
    ])


def pkg_name(r):
    name = r.choice(PKG_WORDS) + r.choice(["", "-" + r.choice(PKG_WORDS), "-" + r.choice(PKG_WORDS) + "-" + r.choice(PKG_WORDS)])
    return ("@" + r.choice(PKG_WORDS) + "/" + name) if r.random() < 0.2 else name


def semver(r):
    return "%d.%d.%d" % (r.randint(0, 12), r.randint(0, 30), r.randint(0, 40))


def lock_chunk(r, style):
    p, ver = pkg_name(r), semver(r)
    base = p.split("/")[-1]
    integ = "sha512-" + base64.b64encode(r.randbytes(64)).decode()
    if style == "package-lock.json":
        deps = ", ".join('"%s": "^%s"' % (pkg_name(r), semver(r)) for _ in range(r.randint(0, 3)))
        return (f'    "node_modules/{p}": {{\n      "version": "{ver}",\n'
                f'      "resolved": "https://registry.npmjs.org/{p}/-/{base}-{ver}.tgz",\n'
                f'      "integrity": "{integ}",\n      "dev": {r.choice(["true", "false"])},\n'
                f'      "dependencies": {{{deps}}}\n    }},\n')
    if style == "yarn.lock":
        return (f'"{p}@^{ver}":\n  version "{ver}"\n  resolved "https://registry.yarnpkg.com/{p}/-/{base}-{ver}.tgz#{rs(r, HEX, 40)}"\n'
                f"  integrity {integ}\n\n")
    if style == "pnpm-lock.yaml":
        return f"  /{p}@{ver}:\n    resolution: {{integrity: {integ}}}\n    dev: {r.choice(['true', 'false'])}\n\n"
    if style == "go.sum":
        mod = "github.com/%s/%s" % (r.choice(PKG_WORDS), r.choice(PKG_WORDS))
        return (f"{mod} v{ver} h1:{base64.b64encode(r.randbytes(32)).decode()}\n"
                f"{mod} v{ver}/go.mod h1:{base64.b64encode(r.randbytes(32)).decode()}\n")
    return (f'[[package]]\nname = "{base}"\nversion = "{ver}"\n'
            f'source = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{rs(r, HEX, 64)}"\n\n')


MIN_ID = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"


def minjs_stmt(r):
    a, b, c = rs(r, MIN_ID, 1), rs(r, MIN_ID, 2), rs(r, MIN_ID, 1)
    n = r.choice(NOUNS)
    return r.choice([
        f"function {b}({a},{c}){{return {a}.id==={c}.id?0:{a}.id<{c}.id?-1:1}}",
        f"function {b}({a}){{return {a}.map(function({c}){{return {c}.value*{r.randint(2, 100)}}})}}",
        f'{b}.prototype.render=function(){{var {a}=this.props;return {c}("div",{{className:"{n}"}},{a}.children)}}',
        f"var {b}={a}({r.randint(1, 9999)}),{c}={a}.n({b})",
        f'{a}.exports={{name:"{n}",props:{{value:{{type:String,default:""}},{n}Id:Number}}}}',
        f'{b}.prototype.{v1(r)}=function({a}){{return this.{n}s.filter(function({c}){{return {c}.status==="{r.choice(ADJ)}"}})}}',
        f'const {b}="{n}:"+{a}.id,{c}=localStorage.getItem("{n}.token")',
        f"for(var {a}=0;{a}<{b}.length;{a}++){c}[{b}[{a}].key]={b}[{a}]",
        f'{b}=[{",".join(str(r.randint(0, 65535)) for _ in range(r.randint(4, 16)))}]',
        f'throw new Error("{n} {v1(r)} failed: "+{a}.message)',
    ])



# Keyword-free filler (most of real code): the templates above carry the
# words secret scanners key on (key, token, auth, secret, password) at about
# the density of an application monorepo; these keep the whole near real code
# (Python's standard library: "key" once per ~1.9 KB, "token" per ~4 KB).
NEUTRAL_SHARE = {"py": 0.8, "js": 0.8, "ts": 0.8, "go": 0.8, "java": 0.8, "yaml": 0.7, "json": 0.85,
                 "tf": 0.6, "md": 0.7, "sh": 0.5, "env": 0.4}


def py_neutral(r):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    k = r.randrange(5)
    if k == 0:
        return (f"def {v}_{n}s({n}s, limit={r.randint(5, 500)}):\n"
                f"    result = []\n    for item in {n}s:\n        if item.status != \"{a}\":\n            continue\n"
                f"        result.append(item)\n        if len(result) >= limit:\n            break\n    return result\n\n\n")
    if k == 1:
        return (f"@dataclass(frozen=True)\nclass {n.title()}{m.title()}:\n    id: int\n    {m}_id: int\n"
                f"    status: str = \"{a}\"\n    amount: Decimal = Decimal(\"0\")\n    created_at: datetime | None = None\n\n"
                f"    def is_{a}(self) -> bool:\n        return self.status == \"{a}\"\n\n\n")
    if k == 2:
        return (f"    total = sum(line.amount * line.quantity for line in {n}.lines)\n"
                f"    if total > {m}.limit:\n        raise ValueError(f\"{n} {{{n}.id}} exceeds the {m} limit\")\n"
                f"    {n}.total = total.quantize(Decimal(\"0.01\"))\n")
    if k == 3:
        return (f"class {n.title()}Repository:\n    def __init__(self, db):\n        self.db = db\n\n"
                f"    def find_{a}(self, {m}_id):\n        return self.db.query({n.title()}).filter_by({m}_id={m}_id, status=\"{a}\").all()\n\n"
                f"    def count(self):\n        return self.db.query(func.count({n.title()}.id)).scalar()\n\n\n")
    return f"    # {v} every {n} of the {m} before the next run; {a} ones are skipped\n    {n}s = [x for x in {n}s if x.{m}_id is not None]\n"


def js_neutral(r, ts=False):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    t = (lambda s: s) if ts else (lambda s: "")
    k = r.randrange(4)
    if k == 0:
        return (f"export function {v}{n.title()}s({n}s{t(f': {n.title()}[]')}, limit = {r.randint(5, 500)}) {{\n"
                f"  return {n}s\n    .filter((x) => x.status === '{a}')\n    .map((x) => ({{ ...x, total: x.amount * x.quantity }}))\n"
                f"    .slice(0, limit);\n}}\n\n")
    if k == 1:
        return (f"export const {n.title()}{m.title()}List = ({{ {n}s, on{v.title()} }}{t(': Props')}) => (\n"
                f"  <ul className=\"{n}-list\">\n    {{{n}s.map((x) => (\n      <li onClick={{() => on{v.title()}(x.id)}}>\n"
                f"        {{x.name}} <span>{{x.status}}</span>\n      </li>\n    ))}}\n  </ul>\n);\n\n")
    if k == 2:
        return (f"  const total = {n}.lines.reduce((sum, line) => sum + line.amount * line.quantity, 0);\n"
                f"  if (total > {m}.limit) throw new RangeError(`{n} ${{{n}.id}} exceeds the {m} limit`);\n")
    return f"  // {v} the {n}s of this {m} in order; {a} ones first\n  {n}s.sort((x, y) => x.createdAt - y.createdAt);\n"


def go_neutral(r):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    N = n.title()
    k = r.randrange(3)
    if k == 0:
        return (f"func {v.title()}{N}s({n}s []{N}, limit int) []{N} {{\n\tout := make([]{N}, 0, limit)\n"
                f"\tfor _, x := range {n}s {{\n\t\tif x.Status != \"{a}\" {{\n\t\t\tcontinue\n\t\t}}\n"
                f"\t\tout = append(out, x)\n\t\tif len(out) == limit {{\n\t\t\tbreak\n\t\t}}\n\t}}\n\treturn out\n}}\n\n")
    if k == 1:
        return (f"func (r *{N}Repo) Find{a.title()}(ctx context.Context, {m}ID int64) ([]{N}, error) {{\n"
                f"\trows, err := r.db.QueryContext(ctx, `SELECT id, status FROM {n}s WHERE {m}_id = $1 AND status = '{a}'`, {m}ID)\n"
                f"\tif err != nil {{\n\t\treturn nil, fmt.Errorf(\"find {n}s: %w\", err)\n\t}}\n\tdefer rows.Close()\n"
                f"\treturn scan{N}s(rows)\n}}\n\n")
    return f"\t// {v} the {n} before the {m} is {a}\n\tif err := {v}{N}(ctx, {n}); err != nil {{\n\t\treturn err\n\t}}\n"


def java_neutral(r):
    n, m, v, a = n1(r), n1(r), v1(r), r.choice(ADJ)
    N, M = n.title(), m.title()
    k = r.randrange(3)
    if k == 0:
        return (f"    public List<{N}> {v}{N}s(List<{N}> {n}s, int limit) {{\n"
                f"        return {n}s.stream()\n            .filter(x -> \"{a}\".equals(x.getStatus()))\n"
                f"            .sorted(Comparator.comparing({N}::getCreatedAt))\n            .limit(limit)\n"
                f"            .collect(Collectors.toList());\n    }}\n\n")
    if k == 1:
        return (f"    public {M} get{M}() {{\n        return {m};\n    }}\n\n"
                f"    public void set{M}({M} {m}) {{\n        this.{m} = Objects.requireNonNull({m});\n    }}\n\n")
    return (f"    @Transactional\n    public void {v}({N} {n}) {{\n        {n}.setStatus(\"{a}\");\n"
            f"        {n}Repository.save({n});\n        events.publish(new {N}{v.title()}Event({n}.getId()));\n    }}\n\n")


def yaml_neutral(r):
    n, svc = n1(r), r.choice(SERVICES)
    k = r.randrange(2)
    if k == 0:
        return (f"{svc}_{n}_{uid()}:\n  containers:\n    - name: {svc}-{n}\n"
                f"      image: registry.acme-corp.io/{svc}/{n}:{r.randint(1, 9)}.{r.randint(0, 40)}.{r.randint(0, 99)}\n"
                f"      ports:\n        - containerPort: {r.choice([8080, 8000, 3000, 9090])}\n      readinessProbe:\n"
                f"        httpGet:\n          path: /healthz\n          port: {r.choice([8080, 8000, 3000])}\n"
                f"      resources:\n        requests:\n          cpu: {r.choice([50, 100, 250, 500])}m\n"
                f"          memory: {r.choice([64, 128, 256])}Mi\n")
    return (f"{n}_{uid()}:\n  enabled: {r.choice(['true', 'false'])}\n  batch_size: {r.randint(10, 1000)}\n"
            f"  retries: {r.randint(0, 5)}\n  endpoint: https://{svc}.internal.acme-corp.io/v{r.randint(1, 3)}/{n}s\n")


def tf_neutral(r):
    n, svc = n1(r), r.choice(SERVICES)
    return (f'resource "aws_s3_bucket" "{svc}_{n}" {{\n  bucket = "acme-{svc}-{n}-${{var.env}}"\n  tags   = local.tags\n}}\n\n'
            f'resource "aws_security_group_rule" "{svc}_{n}_https" {{\n  type              = "ingress"\n  from_port         = 443\n'
            f'  to_port           = 443\n  protocol          = "tcp"\n  cidr_blocks       = ["10.0.0.0/8"]\n'
            f'  security_group_id = aws_security_group.{svc}.id\n}}\n\n')


def md_neutral(r):
    n, m, v, svc = n1(r), n1(r), v1(r), r.choice(SERVICES)
    return (f"The {svc} service {v}s {n}s in batches; a {m} that arrives while a batch runs waits for the next one. "
            f"Batches run every {r.randint(1, 60)} minutes and take about {r.randint(1, 90)} seconds for "
            f"{r.randint(1, 50) * 1000} {n}s. See the runbook before changing the schedule.\n\n")


def sh_neutral(r):
    n, svc = n1(r), r.choice(SERVICES)
    return f"echo \"building {svc}-{n}\"\nmake -C services/{svc} build VERSION=\"$VERSION\"\n"


def env_neutral(r):
    n = n1(r)
    return r.choice([f"{n.upper()}_BATCH_SIZE={r.randint(10, 1000)}\n", f"{n.upper()}_RETRIES={r.randint(0, 5)}\n",
                     f"PORT={r.choice([8080, 8000, 3000])}\n"])


def json_neutral(r):
    n, m, a = n1(r), n1(r), r.choice(ADJ)
    return (f'  {{"id": {r.randint(1, 10**6)}, "type": "{n}", "{m}Id": {r.randint(1, 10**5)}, "status": "{a}", '
            f'"tags": ["{r.choice(NOUNS)}", "{r.choice(ADJ)}"], "amount": {r.randint(1, 10**5) / 100}, '
            f'"createdAt": "2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"}},\n')


NEUTRAL = {"py": py_neutral, "js": js_neutral, "ts": lambda r: js_neutral(r, ts=True), "go": go_neutral,
           "java": java_neutral, "yaml": yaml_neutral, "json": json_neutral, "tf": tf_neutral, "md": md_neutral,
           "sh": sh_neutral, "env": env_neutral}


def mixed(ftype, chunker):
    share, neutral = NEUTRAL_SHARE[ftype], NEUTRAL[ftype]
    return lambda r: neutral(r) if r.random() < share else chunker(r)


CHUNKERS = {t: mixed(t, c) for t, c in {
    "py": py_chunk, "js": js_chunk, "ts": lambda r: js_chunk(r, ts=True), "go": go_chunk, "java": java_chunk,
    "yaml": yaml_chunk, "json": json_chunk, "tf": tf_chunk, "md": md_chunk, "sh": sh_chunk, "env": env_chunk,
}.items()}

HEADERS = {
    "py": lambda r: "import os\nimport logging\nfrom datetime import timedelta\n\nlog = logging.getLogger(__name__)\n\n",
    "js": lambda r: "'use strict';\n\nconst { API_BASE } = require('./config');\n\n",
    "ts": lambda r: "import { API_BASE, getAccessToken } from './client';\n\n",
    "go": lambda r: "package %s\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"net/http\"\n\t\"time\"\n)\n\n" % r.choice(NOUNS),
    "java": lambda r: "package com.acme.%s;\n\nimport java.time.Duration;\n\npublic class %s%s {\n\n" % (
        r.choice(SERVICES), r.choice(NOUNS).title(), r.choice(["Service", "Controller", "Repository"])),
    "json": lambda r: "[\n",
    "tf": lambda r: "locals {\n  tags = { team = \"%s\" }\n}\n\n" % r.choice(SERVICES),
    "md": lambda r: "# %s %s\n\n" % (r.choice(SERVICES).title(), r.choice(NOUNS)),
    "sh": lambda r: "#!/usr/bin/env bash\nset -euo pipefail\n\n",
    "yaml": lambda r: "---\n",
    "env": lambda r: "# %s environment\n" % r.choice(SERVICES),
}
FOOTERS = {"java": "}\n", "json": '  {"id": 0}\n]\n'}


# ---------------------------------------------------------------------------
# files

# type: (count weight, min bytes, max bytes)
TYPES = {
    "py": (15, 1024, 48 * 1024), "js": (7, 1024, 48 * 1024), "ts": (10, 1024, 48 * 1024),
    "go": (9, 1024, 48 * 1024), "java": (8, 2048, 48 * 1024), "yaml": (9, 1024, 24 * 1024),
    "json": (5, 1024, 160 * 1024), "tf": (6, 1024, 24 * 1024), "md": (6, 1024, 40 * 1024),
    "sh": (3, 1024, 16 * 1024), "env": (2, 1024, 3 * 1024), "lock": (0.8, 20 * 1024, 1024 * 1024),
    "minjs": (0.4, 50 * 1024, 2 * 1024 * 1024),
}
LOCK_STYLES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "go.sum", "Cargo.lock"]


def family_of(path):
    base = os.path.basename(path)
    if base == ".npmrc":
        return "npmrc"
    if base.endswith(".min.js"):
        return "minjs"
    if base.endswith((".pem", ".key", ".crt")):
        return "pem"
    if base in LOCK_STYLES:
        return "lock"
    if base.startswith(".env") or base.endswith(".env"):
        return "env"
    ext = base.rsplit(".", 1)[-1]
    return {"yml": "yaml", "tsx": "ts", "jsx": "js"}.get(ext, ext)


def file_path(r, ftype, svc, counter):
    n, v = r.choice(NOUNS), r.choice(VERBS)
    i = counter
    if ftype == "py":
        return r.choice([f"services/{svc}/src/{svc}/{n}s_{i}.py", f"services/{svc}/src/{svc}/api/{v}_{n}_{i}.py",
                         f"services/{svc}/tests/test_{n}_{i}.py"])
    if ftype == "js":
        return r.choice([f"web/{svc}/src/{n}s/{v}{n.title()}{i}.js", f"web/{svc}/server/routes/{n}s_{i}.js"])
    if ftype == "ts":
        return r.choice([f"web/{svc}/src/{n}s/{n.title()}{i}.tsx", f"web/{svc}/src/api/{n}{i}.ts",
                         f"web/{svc}/src/{n}s/{n}{i}.test.ts"])
    if ftype == "go":
        return r.choice([f"services/{svc}/internal/{n}/{n}_{i}.go", f"services/{svc}/internal/{n}/{n}_{i}_test.go"])
    if ftype == "java":
        return f"services/{svc}/src/main/java/com/acme/{svc}/{n}/{n.title()}{r.choice(['Service', 'Controller', 'Repository'])}{i}.java"
    if ftype == "yaml":
        return r.choice([f"deploy/{svc}/{n}-{i}.yaml", f"services/{svc}/config/{n}_{i}.yml", f".github/workflows/{svc}-{n}-{i}.yml"])
    if ftype == "json":
        return r.choice([f"services/{svc}/fixtures/{n}s_{i}.json", f"web/{svc}/config/{n}.{i}.json"])
    if ftype == "tf":
        return f"infra/{svc}/{n}_{i}.tf"
    if ftype == "md":
        return r.choice([f"docs/{svc}/{n}-{i}.md", f"services/{svc}/README_{i}.md"])
    if ftype == "sh":
        return f"scripts/{svc}/{v}-{n}-{i}.sh"
    if ftype == "env":
        return r.choice([f"services/{svc}/.env", f"services/{svc}/.env.{r.choice(['production', 'staging', 'local'])}",
                         f"deploy/{svc}/config-{i}.env"])
    if ftype == "lock":
        return f"{r.choice(['web', 'services', 'tools'])}/{svc}-{i}/{r.choice(LOCK_STYLES)}"
    return f"web/{svc}/dist/assets/{r.choice(['app', 'vendor', 'chunk'])}.{rs(r, HEX, 8)}.min.js"


def build_chunks(r, ftype, path, size):
    """Filler chunks of about `size` bytes; insertion points are between chunks."""
    if ftype == "lock":
        style = os.path.basename(path)
        head = {"package-lock.json": '{\n  "name": "app",\n  "lockfileVersion": 3,\n  "packages": {\n',
                "yarn.lock": "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n",
                "pnpm-lock.yaml": "lockfileVersion: '9.0'\n\npackages:\n\n", "go.sum": "", "Cargo.lock": "version = 4\n\n"}[style]
        chunks, total = [head], len(head)
        while total < size:
            c = lock_chunk(r, style)
            chunks.append(c)
            total += len(c)
        if style == "package-lock.json":
            chunks.append('    "": {}\n  }\n}\n')
        return chunks, None
    if ftype == "minjs":
        chunks, total, line = ["/*! %s v%s | MIT */\n" % (r.choice(PKG_WORDS), semver(r))], 0, 0
        line_len = r.randint(50 * 1024, 600 * 1024)
        while total < size:
            s = minjs_stmt(r)
            line += len(s) + 1
            total += len(s) + 1
            if line > line_len:
                s += ";\n"
                line = 0
            else:
                s += ";"
            chunks.append(s)
        chunks.append("\n//# sourceMappingURL=%s.map\n" % os.path.basename(path))
        return chunks, None
    chunker = CHUNKERS[ftype]
    head = HEADERS.get(ftype, lambda r: "")(r)
    chunks, total = [head], len(head)
    keys = set()
    while total < size:
        c = chunker(r)
        if ftype == "env" and "=" in c:
            key = c.split("=", 1)[0]
            if key in keys:
                continue
            keys.add(key)
        chunks.append(c)
        total += len(c)
    foot = FOOTERS.get(ftype)
    if foot:
        chunks.append(foot)
    return chunks, None


def pick_kind(r, table, fam):
    options = [(k, w) for k, (w, _, fams) in table.items() if fam in fams.split()]
    if not options:
        return None
    kinds, weights = zip(*options)
    return r.choices(kinds, weights=weights)[0]


def make_snippet(r, table, kind, fam):
    got = table[kind][1](r, fam)
    if got is None:
        return None
    lines, labels = got
    if fam == "minjs":
        return ";".join(lines) + ";", labels
    return "".join(l + "\n" for l in lines), labels


def label_span(snippet_text, dl):
    """How many lines after its first the value at line `dl` of a snippet
    runs on: a PEM block to its END line, anything else 0."""
    lines = snippet_text.split("\n")
    if "-----BEGIN" not in lines[dl]:
        return 0
    for i in range(dl, len(lines)):
        if "-----END" in lines[i]:
            return i - dl
    return 0


def insert_snippets(r, chunks, snippets, fam):
    """Inserts snippets between chunks (not before the header or after the
    footer); returns [(line, end line, kind)] of every label, 1-based lines."""
    slots = sorted(r.randint(1, max(1, len(chunks) - 1)) for _ in snippets)
    marks = {}
    for offset, (slot, snip) in enumerate(zip(slots, snippets)):
        at = slot + offset
        chunks.insert(at, snip[0])
        marks[at] = [(dl, label_span(snip[0], dl), kind) for dl, kind in snip[1]]
    out, line = [], 1
    for i, c in enumerate(chunks):
        if i in marks:
            out.extend((line + dl, line + dl + span, kind) for dl, span, kind in marks[i])
        line += c.count("\n")
    return out


def log_uniform(r, lo, hi):
    return int(math.exp(r.uniform(math.log(lo), math.log(hi))))


def gen_tree(out, mb, seed):
    r = random.Random(seed)
    target = mb * 1024 * 1024
    tree = os.path.join(out, "tree")
    types = list(TYPES)
    weights = [TYPES[t][0] for t in types]
    specs, total, counter, seen = [], 0, 0, set()
    while total < target:
        ftype = r.choices(types, weights=weights)[0]
        _, lo, hi = TYPES[ftype]
        size = log_uniform(r, lo, hi)
        counter += 1
        path = file_path(r, ftype, r.choice(SERVICES), counter)
        if path in seen:
            continue
        seen.add(path)
        specs.append([path, ftype, size])
        total += size
    # files that exist only to hold a secret or a decoy
    for i in range(12):
        specs.append(["web/%s-%d/.npmrc" % (r.choice(SERVICES), i), "npmrc", 0])
    for i in range(10):
        specs.append(["deploy/%s/certs/%s-%d.%s" % (r.choice(SERVICES), r.choice(NOUNS), i, r.choice(["pem", "key"])), "pem", 0])
    for i in range(8):
        specs.append(["deploy/%s/certs/ca-%d.crt" % (r.choice(SERVICES), i), "pem-decoy", 0])

    # what to plant where: about one secret per 0.8 MB, plus decoys
    n_secrets = max(40, int(mb * 1.25))
    n_decoys = max(40, int(mb * 0.8))
    plan = {}  # spec index -> [(table, kind)]
    by_family = {}
    for idx, (path, ftype, _) in enumerate(specs):
        fam = "pem" if ftype == "pem-decoy" else family_of(path)
        by_family.setdefault(fam, []).append(idx)
    special = [i for i, s in enumerate(specs) if s[1] in ("npmrc", "pem", "pem-decoy")]
    for idx in special:
        ftype = specs[idx][1]
        if ftype == "npmrc":
            plan[idx] = [(SECRET_KINDS, "npm-token")]
        elif ftype == "pem":
            plan[idx] = [(SECRET_KINDS, "private-key")]
        else:
            plan[idx] = [(DECOY_KINDS, "decoy-certificate")]
    for table, count in ((SECRET_KINDS, n_secrets), (DECOY_KINDS, n_decoys)):
        kinds = list(table)
        kweights = [table[k][0] for k in kinds]
        placed = 0
        while placed < count:
            kind = r.choices(kinds, weights=kweights)[0]
            fams = [f for f in table[kind][2].split() if f not in ("npmrc", "pem") and f in by_family]
            fam = r.choice(fams)
            idx = r.choice(by_family[fam])
            if len(plan.get(idx, [])) >= (1 if fam == "env" else 3):   # one per .env: keys stay unique
                continue
            plan.setdefault(idx, []).append((table, kind))
            placed += 1

    labels = []
    os.makedirs(tree)
    made = set()
    for idx, (path, ftype, size) in enumerate(specs):
        fam = "pem" if ftype == "pem-decoy" else family_of(path)
        if ftype in ("npmrc", "pem", "pem-decoy"):
            chunks = ["# registry settings\nregistry=https://registry.npmjs.org/\nalways-auth=true\n"] if ftype == "npmrc" else [""]
        else:
            chunks, _ = build_chunks(r, ftype, path, size)
        snippets = []
        for table, kind in plan.get(idx, []):
            snip = make_snippet(r, table, kind, fam)
            if snip:
                snippets.append(snip)
        if ftype in ("npmrc", "pem", "pem-decoy"):
            chunks.append("")
            found = insert_snippets(r, chunks, snippets, fam) if ftype == "npmrc" else []
            if ftype != "npmrc":
                chunks = [snippets[0][0]]
                found = [(1 + dl, 1 + dl + label_span(snippets[0][0], dl), kind) for dl, kind in snippets[0][1]]
        else:
            found = insert_snippets(r, chunks, snippets, fam)
        for line, end, kind in found:
            labels.append((path, line, kind, "decoy" if kind.startswith("decoy-") else "secret", end))
        full = os.path.join(tree, path)
        d = os.path.dirname(full)
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        with open(full, "w", encoding="ascii", newline="\n") as f:
            f.write("".join(chunks))
    labels.sort()
    with open(os.path.join(out, "labels.tsv"), "w") as f:
        f.write("path\tline\tkind\tlabel\tend_line\n")
        for path, line, kind, label, end in labels:
            f.write("%s\t%d\t%s\t%s\t%d\n" % (path, line, kind, label, end))
    secrets = sum(1 for l in labels if l[3] == "secret")
    print("%s: %d files, %.1f MB, %d planted secrets, %d decoys"
          % (tree, len(specs), sum(os.path.getsize(os.path.join(tree, s[0])) for s in specs) / 1e6,
             secrets, len(labels) - secrets))


def gen_sample(out, corpus, percent):
    """Every file of whole top-level service directories chosen by a hash of
    their name: a deterministic subset with the same mix of file types."""
    src = os.path.join(corpus, "tree")
    dst = os.path.join(out, "tree")
    keep = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), src)
            h = int(hashlib.sha256(rel.encode()).hexdigest()[:8], 16)
            if h % 1000 < percent * 10:
                keep.append(rel)
    for rel in keep:
        target = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(os.path.join(src, rel), target)
    keep_set = set(keep)
    with open(os.path.join(corpus, "labels.tsv")) as f, open(os.path.join(out, "labels.tsv"), "w") as g:
        g.write(f.readline())
        for line in f:
            if line.split("\t", 1)[0] in keep_set:
                g.write(line)
    print("%s: %d files (%.1f%% of %s)" % (dst, len(keep), percent, src))


# ---------------------------------------------------------------------------
# history

HIST_TYPES = ["py", "py", "ts", "ts", "go", "js", "java", "yaml", "yaml", "json", "tf", "md", "sh", "env"]


class Repo:
    """The files of one branch: path -> list of chunks; chunk ids of planted snippets."""

    def __init__(self, files=None):
        self.files = {p: list(c) for p, c in (files or {}).items()}


class History:
    def __init__(self, seed, stream):
        self.r = random.Random(seed)
        self.out = stream
        self.mark = 0
        self.time = 1_600_000_000
        self.labels = []      # [commit mark, path, line, kind, label, secret id]
        self.live = {}        # secret id -> (branch, path, snippet text)
        self.removed = set()
        self.next_secret = 0

    def w(self, text):
        self.out.write(text.encode() if isinstance(text, str) else text)

    def commit(self, ref, message, parent, changes, merge=None):
        """changes: [(path, content or None for delete)]"""
        self.mark += 1
        self.time += self.r.randint(60, 7200)
        who = "%s %s <%s.%s@acme-corp.io>" % (self.r.choice(FIRST).title(), self.r.choice(LAST).title(),
                                              self.r.choice(FIRST), self.r.choice(LAST))
        msg = message.encode()
        self.w("commit %s\nmark :%d\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n"
               % (ref, self.mark, who, self.time, who, self.time, len(msg)))
        self.w(msg + b"\n")
        if parent:
            self.w("from :%d\n" % parent)
        for m in merge or []:
            self.w("merge :%d\n" % m)
        for path, content in changes:
            if content is None:
                self.w("D %s\n" % path)
            else:
                data = content.encode()
                self.w("M 100644 inline %s\ndata %d\n" % (path, len(data)))
                self.w(data + b"\n")
        self.w("\n")
        return self.mark

    def new_file(self, repo, counter):
        r = self.r
        ftype = r.choice(HIST_TYPES)
        path = file_path(r, ftype, r.choice(SERVICES[:8]), counter)
        if path in repo.files:
            return None
        size = log_uniform(r, 1024, 24 * 1024)
        chunks, _ = build_chunks(r, ftype, path, size)
        repo.files[path] = chunks
        return path

    def edit(self, repo, path, protected):
        """Replaces, inserts or deletes a filler chunk (never a planted snippet)."""
        r = self.r
        chunks = repo.files[path]
        fam = family_of(path)
        chunker = CHUNKERS.get(fam)
        if chunker is None:
            return
        for _ in range(r.randint(1, 3)):
            if len(chunks) < 3:
                chunks.insert(len(chunks) - 1 if len(chunks) > 1 else 1, chunker(r))
                continue
            i = r.randint(1, len(chunks) - 2)
            if chunks[i] in protected:
                continue
            op = r.random()
            if op < 0.5:
                chunks[i] = chunker(r)
            elif op < 0.85:
                chunks.insert(i, chunker(r))
            else:
                del chunks[i]

    def plant(self, repo, path, mark_for_label, table=SECRET_KINDS):
        r = self.r
        fam = family_of(path)
        kind = pick_kind(r, table, fam)
        if kind is None:
            return None
        snip = make_snippet(r, table, kind, fam)
        if snip is None:
            return None
        chunks = repo.files[path]
        at = r.randint(1, max(1, len(chunks) - 1))
        chunks.insert(at, snip[0])
        line = 1 + sum(c.count("\n") for c in chunks[:at])
        ids = []
        for dl, k in snip[1]:
            sid = self.next_secret
            self.next_secret += 1
            self.labels.append([mark_for_label, path, line + dl, k, "decoy" if k.startswith("decoy-") else "secret", sid])
            ids.append(sid)
        return snip[0], ids


def gen_history(out, commits, seed, append=None):
    """append: (repo dir, labels file) to add `commits` commits to an existing main."""
    h_seed = seed if append is None else seed + 7919
    git_dir = os.path.join(out, "repo.git") if append is None else append[0]
    if append is None:
        os.makedirs(out)
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", git_dir], check=True)
    marks = os.path.abspath(os.path.join(os.path.dirname(git_dir.rstrip("/")) if append else out,
                                         "marks.%d" % os.getpid()))
    proc = subprocess.Popen(["git", "-C", git_dir, "fast-import", "--quiet", "--export-marks=" + marks,
                             "--done"], stdin=subprocess.PIPE)
    h = History(h_seed, proc.stdin)
    r = h.r
    main = Repo()
    counter = 0
    protected = set()
    if append is None:
        h.time = 1_600_000_000
        n_files = 300 if commits <= 20000 else 200
        while len(main.files) < n_files:
            counter += 1
            h.new_file(main, counter)
        tip = h.commit("refs/heads/main", "Initial import", None,
                       [(p, "".join(c)) for p, c in sorted(main.files.items())])
    else:
        head = subprocess.run(["git", "-C", git_dir, "rev-parse", "refs/heads/main"], check=True,
                              capture_output=True, text=True).stdout.strip()
        h.time = int(subprocess.run(["git", "-C", git_dir, "log", "-1", "--format=%ct", head], check=True,
                                    capture_output=True, text=True).stdout.strip())
        h.w("reset refs/heads/main\nfrom %s\n\n" % head)
        tip = None
        counter = 10**6
    pending_removal = []   # (due commit number, path, snippet)
    branch_no = 0
    done = 1 if append is None else 0
    while done < commits:
        if append is None and done % 97 == 50 and commits - done > 12:
            # a feature branch: a few commits on files main leaves alone meanwhile, merged or left open
            branch_no += 1
            ref = "refs/heads/feature/%s-%d" % (r.choice(NOUNS), branch_no)
            branch = Repo(main.files)
            own = r.sample(sorted(branch.files), 3)
            btip = tip
            branch_ids = []
            for j in range(r.randint(2, 5)):
                path = r.choice(own)
                h.edit(branch, path, protected)
                planted = None
                if r.random() < 0.15:
                    planted = h.plant(branch, path, h.mark + 1)
                    if planted:
                        protected.add(planted[0])
                        branch_ids.extend(planted[1])
                btip = h.commit(ref, "%s %s (%s)" % (v1(r).title(), n1(r), ref[16:]), btip,
                                [(path, "".join(branch.files[path]))])
                done += 1
            if branch_no % 4 != 0:
                for p in own:
                    main.files[p] = list(branch.files[p])
                tip = h.commit("refs/heads/main", "Merge branch '%s'" % ref[11:], tip,
                               [(p, "".join(main.files[p])) for p in own], merge=[btip])
                done += 1
            else:
                h.removed.update(branch_ids)   # left on an open branch: never at HEAD
            continue
        changes = {}
        roll = r.random()
        if roll < 0.03 or not main.files:
            counter += 1
            path = h.new_file(main, counter)
            if path:
                changes[path] = True
        elif roll < 0.04 and len(main.files) > 50:
            path = r.choice(sorted(main.files))
            if not any(path == p for _, p, _ in pending_removal) and not any(
                    s in protected for s in main.files[path]):
                del main.files[path]
                changes[path] = None
        for _ in range(1 if r.random() < 0.6 else r.randint(2, 3)):
            path = r.choice(sorted(main.files))
            h.edit(main, path, protected)
            changes[path] = True
        # plant a secret (about 2% of commits) or a decoy (1%)
        roll = r.random()
        if roll < 0.03 or append is not None and done == 0:
            path = r.choice([p for p in changes if changes[p]] or sorted(main.files))
            table = SECRET_KINDS if (roll < 0.02 or append is not None) else DECOY_KINDS
            planted = h.plant(main, path, h.mark + 1, table)
            if planted:
                changes[path] = True
                protected.add(planted[0])
                if table is SECRET_KINDS and r.random() < 0.4:
                    pending_removal.append((done + r.randint(5, 300), path, planted))
        # remove secrets whose time has come (the "fix" commit)
        due = [x for x in pending_removal if x[0] <= done]
        for item in due:
            pending_removal.remove(item)
            _, path, (snippet, ids) = item
            if path in main.files and snippet in main.files[path]:
                main.files[path].remove(snippet)
                changes[path] = True
                h.removed.update(ids)
        tip = h.commit("refs/heads/main", "%s %s" % (v1(r).title(), n1(r)), tip,
                       [(p, None if c is None else "".join(main.files[p])) for p, c in sorted(changes.items())
                        if c is None or p in main.files])
        done += 1
        if append is None and done % 500 == 0:
            h.w("reset refs/tags/v1.%d.0\nfrom :%d\n\n" % (done // 500, tip))
    h.w("done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        sys.exit("git fast-import failed")
    if append is None:
        subprocess.run(["git", "-C", git_dir, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    mark_sha = {}
    with open(marks) as f:
        for line in f:
            m, sha = line.split()
            mark_sha[int(m[1:])] = sha
    os.remove(marks)
    # a secret still at HEAD: planted on main (or a merged branch) and not removed
    head_files = subprocess.run(["git", "-C", git_dir, "ls-tree", "-r", "--name-only", "refs/heads/main"],
                                check=True, capture_output=True, text=True).stdout.split("\n")
    head_set = set(head_files)
    labels_path = os.path.join(out, "labels.tsv") if append is None else append[1]
    with open(labels_path, "w") as f:
        f.write("commit\tpath\tline\tkind\tlabel\tat_head\n")
        for mark, path, line, kind, label, sid in h.labels:
            at_head = "no" if sid in h.removed or path not in head_set else "yes"
            f.write("%s\t%s\t%d\t%s\t%s\t%s\n" % (mark_sha[mark], path, line, kind, label, at_head))
    count = subprocess.run(["git", "-C", git_dir, "rev-list", "--all", "--count"], check=True,
                           capture_output=True, text=True).stdout.strip()
    secrets = sum(1 for l in h.labels if l[4] == "secret")
    print("%s: %s commits in all refs, %d secrets planted (%d removed later), %d decoys"
          % (git_dir, count, secrets, sum(1 for l in h.labels if l[4] == "secret" and l[5] in h.removed),
             len(h.labels) - secrets))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tree")
    t.add_argument("out")
    t.add_argument("--mb", type=int, default=320)
    t.add_argument("--seed", type=int, default=SEED)
    s = sub.add_parser("sample")
    s.add_argument("out")
    s.add_argument("--of", required=True)
    s.add_argument("--percent", type=float, required=True)
    g = sub.add_parser("history")
    g.add_argument("out")
    g.add_argument("--commits", type=int, default=5000)
    g.add_argument("--seed", type=int, default=SEED)
    a = sub.add_parser("append")
    a.add_argument("repo")
    a.add_argument("--commits", type=int, default=10)
    a.add_argument("--labels", required=True)
    a.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    if args.cmd == "tree":
        if os.path.exists(args.out):
            sys.exit("%s exists" % args.out)
        gen_tree(args.out, args.mb, args.seed)
    elif args.cmd == "sample":
        gen_sample(args.out, args.of, args.percent)
    elif args.cmd == "history":
        if os.path.exists(args.out):
            sys.exit("%s exists" % args.out)
        gen_history(args.out, args.commits, args.seed)
    else:
        gen_history(os.path.dirname(os.path.abspath(args.labels)), args.commits, args.seed,
                    append=(args.repo, args.labels))


if __name__ == "__main__":
    main()
