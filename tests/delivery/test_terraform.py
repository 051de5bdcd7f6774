"""Offline checks of `terraform/` (GKE + Cloud SQL + Memorystore): parsed with python-hcl2 and
scanned with checkov. `terraform` itself is not needed (nor downloadable here), so these tests
hold the structure the issue asks for: private-only databases, the two node pools, validated
variables, outputs without secrets, remote state, and zero failed checkov checks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.delivery import checkov
from tests.delivery.hcl import load

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
MODULE = TF / "modules" / "ias-platform"
ROOT_CONFIG = TF / "platform"  # the one root configuration; environments/<env>.* select the instance
ENVIRONMENTS = ("staging", "production")
ENV_FILES = TF / "environments"

ALL_TF = sorted(TF.rglob("*.tf"))


# ---- helpers -------------------------------------------------------------------------------------


def blocks(directory: Path, kind: str) -> dict[str, Any]:
    """`variable`/`output`/`module` blocks of every .tf file of a directory, by name."""
    found: dict[str, Any] = {}
    for path in sorted(directory.glob("*.tf")):
        for entry in load(path).get(kind, []):
            for name, body in entry.items():
                assert name not in found, f"{kind} {name!r} declared twice in {directory}"
                found[name] = body
    return found


def resources(directory: Path = MODULE) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for entry in load(path).get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    found[(rtype, name)] = body
    return found


def one(block: Any) -> dict[str, Any]:
    """A nested block (hcl2 gives a list of one dict)."""
    assert isinstance(block, list) and len(block) == 1, block
    return block[0]


def resource(rtype: str, name: str) -> dict[str, Any]:
    found = resources()
    assert (rtype, name) in found, f"{rtype}.{name} missing from {MODULE.relative_to(ROOT)}"
    return found[(rtype, name)]


def expr(value: Any) -> str:
    """An HCL expression as text without the `${...}` wrapper."""
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


# ---- parsing and layout --------------------------------------------------------------------------


def test_layout() -> None:
    for name in ("network.tf", "gke.tf", "databases.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (MODULE / name).is_file(), f"module file {name} missing"
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (ROOT_CONFIG / name).is_file(), f"{ROOT_CONFIG.relative_to(ROOT)}/{name} missing"
    for env in ENVIRONMENTS:
        assert (ENV_FILES / f"{env}.tfvars.example").is_file(), env
        assert (ENV_FILES / f"{env}.gcs.tfbackend").is_file(), env
    assert (TF / "README.md").is_file()


@pytest.mark.parametrize("path", ALL_TF, ids=lambda p: str(p.relative_to(TF)))
def test_every_tf_file_parses(path: Path) -> None:
    parsed = load(path)
    assert parsed, f"{path} parsed to nothing"


def test_tfvars_examples_parse() -> None:
    for env in ENVIRONMENTS:
        values = load(ENV_FILES / f"{env}.tfvars.example")
        assert values["environment"] == env
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", values["project_id"])
        assert values["master_authorized_networks"], "example must show the authorized networks"


def test_no_registry_modules_and_one_instance_per_environment() -> None:
    """Only the local module: checkov must see every resource, and nothing can be downloaded."""
    modules = blocks(ROOT_CONFIG, "module")
    assert set(modules) == {"platform"}
    assert modules["platform"]["source"] == "../modules/ias-platform"
    assert expr(modules["platform"]["environment"]) == "var.environment"
    sizes = environment_settings()
    assert set(sizes) == set(ENVIRONMENTS), "main.tf sizes exactly the environments the variable allows"
    environment = blocks(ROOT_CONFIG, "variable")["environment"]
    assert all(f'"{env}"' in c for env in ENVIRONMENTS for c in _conditions(environment))


def environment_settings() -> dict[str, Any]:
    """`local.environments` of the root configuration: what differs per environment."""
    (local,) = [b for b in load(ROOT_CONFIG / "main.tf")["locals"] if "environments" in b]
    return local["environments"]


def test_environments_differ_where_they_should() -> None:
    sizes = environment_settings()
    staging, production = sizes["staging"], sizes["production"]
    assert production["deletion_protection"] is True and staging["deletion_protection"] is False
    assert production["postgres"]["availability_type"] == "REGIONAL"
    assert production["gpu"]["min_count"] >= 1, "production keeps a GPU node warm"
    assert staging["gpu"]["min_count"] == 0 and staging["gpu"]["spot"] is True
    cidrs = [e[k] for e in sizes.values() for k in ("subnet_cidr", "pods_cidr", "services_cidr")]
    assert len(set(cidrs)) == len(cidrs), "environments do not share address ranges"


# ---- variables -----------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [MODULE, ROOT_CONFIG], ids=lambda p: str(p.relative_to(TF)))
def test_every_variable_has_description_and_type(directory: Path) -> None:
    variables = blocks(directory, "variable")
    assert variables
    for name, body in variables.items():
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"


CONSTRAINED = {
    # variable: text its validation condition(s) must contain
    "project_id": "regex(",
    "region": "regex(",
    "environment": '"production"',
    "subnet_cidr": "cidrhost(",
    "pods_cidr": "cidrhost(",
    "services_cidr": "cidrhost(",
    "master_ipv4_cidr": "cidrhost(",
    "master_authorized_networks": "cidrhost(",
    "release_channel": '"STABLE"',
    "cpu_node_pool": "min_count <= var.cpu_node_pool.max_count",
    "gpu_node_pool": "min_count <= var.gpu_node_pool.max_count",
    "postgres_version": '"POSTGRES_16"',
    "postgres": "tier",
    "redis": "memory_size_gb",
}


def _conditions(body: dict[str, Any]) -> list[str]:
    return [expr(v["condition"]) for v in body.get("validation", [])]


@pytest.mark.parametrize("name", sorted(CONSTRAINED))
def test_constrained_variables_have_validation(name: str) -> None:
    variables = blocks(MODULE, "variable")
    assert name in variables, f"module variable {name} missing"
    conditions = _conditions(variables[name])
    assert conditions, f"variable {name} has no validation block"
    assert any(CONSTRAINED[name] in c for c in conditions), (name, conditions)
    for v in variables[name]["validation"]:
        assert str(v.get("error_message", "")).strip(), f"variable {name}: validation without message"


def test_machine_types_must_not_be_empty_and_gpu_type_is_from_a_list() -> None:
    variables = blocks(MODULE, "variable")
    for pool in ("cpu_node_pool", "gpu_node_pool"):
        assert any(f"trimspace(var.{pool}.machine_type)" in c for c in _conditions(variables[pool])), pool
    gpu_types = _allowed_list(variables["gpu_node_pool"], "accelerator_type")
    assert {"nvidia-l4", "nvidia-h100-80gb"} <= gpu_types
    assert "nvidia-tesla-k80" not in gpu_types  # retired GPUs stay out


def _regex_of(name: str) -> re.Pattern[str]:
    """The pattern of a `can(regex("...", var.NAME))` validation, as a Python regex."""
    for condition in _conditions(blocks(MODULE, "variable")[name]):
        m = re.search(r'regex\("((?:[^"\\]|\\.)*)",\s*var\.' + name, condition)
        if m:
            return re.compile(m.group(1).encode().decode("unicode_escape"))
    raise AssertionError(f"no regex validation on {name}")


def _allowed_list(body: dict[str, Any], attribute: str) -> set[str]:
    for condition in _conditions(body):
        m = re.search(r"contains\(\[([^\]]*)\],\s*var\.[\w.]*" + attribute + r"\)", condition)
        if m:
            return set(re.findall(r'"([^"]+)"', m.group(1)))
    raise AssertionError(f"no contains([...]) validation on {attribute}")


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("project_id", "acme-ias-prod", True),
        ("project_id", "Acme_Prod", False),
        ("project_id", "1abcdef", False),
        ("project_id", "abc", False),
        ("region", "europe-west4", True),
        ("region", "us-central1", True),
        ("region", "europe-west4-a", False),
        ("region", "", False),
    ],
)
def test_regex_validations_accept_and_reject(name: str, value: str, ok: bool) -> None:
    """The validation regexes really separate good from bad values (RE2 ⊂ Python re here)."""
    assert bool(_regex_of(name).fullmatch(value)) is ok


def test_environment_validation_allows_only_staging_and_production() -> None:
    body = blocks(MODULE, "variable")["environment"]
    assert _allowed_list(body, "environment") == {"staging", "production"}


# ---- the cluster and its node pools --------------------------------------------------------------


def test_cluster_is_private_hardened_and_observable() -> None:
    c = resource("google_container_cluster", "this")
    assert c["remove_default_node_pool"] is True
    private = one(c["private_cluster_config"])
    assert private["enable_private_nodes"] is True
    assert "var.master_authorized_networks" in json.dumps(c["master_authorized_networks_config"])
    assert one(c["release_channel"])["channel"] == "${var.release_channel}"
    assert "svc.id.goog" in one(c["workload_identity_config"])["workload_pool"]
    assert c["datapath_provider"] == "ADVANCED_DATAPATH"  # Dataplane V2 enforces NetworkPolicies
    assert c["enable_shielded_nodes"] is True
    assert one(one(c["monitoring_config"])["managed_prometheus"])["enabled"] is True
    assert "WORKLOADS" in one(c["logging_config"])["enable_components"]
    policy = one(c["ip_allocation_policy"])
    assert (policy["cluster_secondary_range_name"], policy["services_secondary_range_name"]) == (
        "pods",
        "services",
    )
    subnet = resource("google_compute_subnetwork", "nodes")
    assert {r["range_name"] for r in subnet["secondary_ip_range"]} == {"pods", "services"}
    assert resource("google_compute_router_nat", "nat")["source_subnetwork_ip_ranges_to_nat"]


def _pool(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    pool = resource("google_container_node_pool", name)
    return pool, one(pool["node_config"])


@pytest.mark.parametrize("name", ["cpu", "gpu"])
def test_node_pools_are_labelled_autoscaled_and_hardened(name: str) -> None:
    pool, node = _pool(name)
    assert node["labels"] == {"ias.io/pool": name}
    scaling = one(pool["autoscaling"])
    assert scaling["min_node_count"] == f"${{var.{name}_node_pool.min_count}}"
    assert scaling["max_node_count"] == f"${{var.{name}_node_pool.max_count}}"
    assert node["machine_type"] == f"${{var.{name}_node_pool.machine_type}}"
    management = one(pool["management"])
    assert management["auto_repair"] is True and management["auto_upgrade"] is True
    assert one(node["shielded_instance_config"])["enable_secure_boot"] is True
    assert one(node["workload_metadata_config"])["mode"] == "GKE_METADATA"
    assert node["service_account"] == "${google_service_account.nodes.email}"


def test_gpu_pool_has_taint_accelerator_with_managed_driver_and_may_scale_to_zero() -> None:
    _, node = _pool("gpu")
    assert node["taint"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    accelerator = one(node["guest_accelerator"])
    assert accelerator["type"] == "${var.gpu_node_pool.accelerator_type}"
    assert accelerator["count"] == "${var.gpu_node_pool.accelerator_count}"
    assert one(accelerator["gpu_driver_installation_config"])["gpu_driver_version"]
    assert "taint" not in _pool("cpu")[1], "the CPU pool must stay schedulable for everything"
    variables = blocks(MODULE, "variable")
    assert any("var.gpu_node_pool.min_count >= 0" in c for c in _conditions(variables["gpu_node_pool"]))
    assert any("var.cpu_node_pool.min_count >= 1" in c for c in _conditions(variables["cpu_node_pool"]))


def test_node_service_account_has_least_privilege() -> None:
    binding = resource("google_project_iam_member", "nodes")
    roles = set(re.findall(r'"([^"]+)"', str(binding["for_each"])))
    allowed = {
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
        "roles/artifactregistry.reader",
    }
    assert roles and roles <= allowed, roles - allowed
    assert binding["member"] == "serviceAccount:${google_service_account.nodes.email}"


# ---- managed PostgreSQL and Redis ----------------------------------------------------------------


def test_postgres_is_private_only_with_tls_backups_and_pitr() -> None:
    pg = resource("google_sql_database_instance", "postgres")
    default_version = blocks(MODULE, "variable")["postgres_version"]["default"]
    assert pg["database_version"] == "${var.postgres_version}"
    assert int(default_version.removeprefix("POSTGRES_")) >= 16
    settings = one(pg["settings"])
    ip = one(settings["ip_configuration"])
    assert ip["ipv4_enabled"] is False
    assert ip["private_network"] == "${google_compute_network.vpc.id}"
    assert ip["ssl_mode"] in {"ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"}
    assert "authorized_networks" not in ip
    backup = one(settings["backup_configuration"])
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    assert pg["deletion_protection"] == "${var.deletion_protection}"
    flags = {f["name"]: f["value"] for f in settings["database_flags"]}
    for flag in ("log_connections", "log_disconnections", "log_checkpoints", "log_lock_waits"):
        assert flags.get(flag) == "on", flag
    assert "google_service_networking_connection.psa" in json.dumps(pg["depends_on"])
    psa = resource("google_compute_global_address", "psa")
    assert psa["purpose"] == "VPC_PEERING" and psa["address_type"] == "INTERNAL"


def test_postgres_password_is_generated_and_kept_in_secret_manager() -> None:
    assert resource("google_sql_user", "ias")["password"] == "${random_password.postgres.result}"
    assert resource("random_password", "postgres")["length"] >= 32
    secrets = resource("google_secret_manager_secret", "this")
    assert "postgres-password" in secrets["for_each"]
    version = resource("google_secret_manager_secret_version", "this")
    assert version["secret_data"] == "${local.secrets[each.key]}"


def test_redis_is_private_ha_with_auth_and_tls() -> None:
    r = resource("google_redis_instance", "this")
    assert r["tier"] == "STANDARD_HA"
    assert r["authorized_network"] == "${google_compute_network.vpc.id}"
    assert r["connect_mode"] == "PRIVATE_SERVICE_ACCESS"
    assert r["auth_enabled"] is True
    assert r["transit_encryption_mode"] == "SERVER_AUTHENTICATION"


# ---- outputs -------------------------------------------------------------------------------------

MODULE_OUTPUTS = {
    "cluster_name",
    "cluster_endpoint",
    "location",
    "network",
    "cpu_node_pool_name",
    "gpu_node_pool_name",
    "postgres_private_ip",
    "postgres_connection_name",
    "postgres_password_secret_id",
    "database_url_secret_id",
    "redis_host",
    "redis_port",
    "redis_auth_secret_id",
    "redis_url_secret_id",
    "kubeconfig_command",
}
SECRET_SOURCES = ("random_password", "auth_string", "secret_data", ".password", "local.secrets")


@pytest.mark.parametrize("directory", [MODULE, ROOT_CONFIG], ids=lambda p: str(p.relative_to(TF)))
def test_outputs_cover_the_named_values_and_never_a_secret(directory: Path) -> None:
    outputs = blocks(directory, "output")
    assert MODULE_OUTPUTS <= set(outputs), MODULE_OUTPUTS - set(outputs)
    assert outputs["cluster_endpoint"].get("sensitive") is True
    for name, body in outputs.items():
        assert str(body.get("description", "")).strip(), f"output {name} has no description"
        value = str(body["value"])
        assert not any(s in value for s in SECRET_SOURCES), f"output {name} exposes a secret: {value}"
        if "password" in name or "auth" in name:
            assert name.endswith("_secret_id"), f"output {name} looks like a credential"
    assert "get-credentials" in str(blocks(MODULE, "output")["kubeconfig_command"]["value"])


# ---- credentials ---------------------------------------------------------------------------------

CREDENTIAL_PATTERNS = [
    # an attribute named like a credential assigned a string literal (references are fine)
    re.compile(
        r"""\b\w*(password|passwd|secret|secret_data|token|api_key|access_key|secret_key|auth_string|"""
        r"""private_key|credentials)\s*=\s*"(?!\$\{)""",
        re.IGNORECASE,
    ),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API key
    re.compile(r'"type"\s*:\s*"service_account"'),  # a service-account JSON key
    re.compile(r"\b(postgres(ql)?|rediss?)://[^:@\s/]*:[^@\s$%]+@"),  # a DSN with a literal password
]


def _credential_hits(text: str) -> list[str]:
    return [m.group(0) for p in CREDENTIAL_PATTERNS for m in p.finditer(text)]


def test_credential_scanner_catches_literals_and_allows_references() -> None:
    for bad in (
        'password = "hunter2"',
        'db_password = "hunter2"',
        'GITHUB_TOKEN="ghp_x"',
        'secret_data = "abc"',
        "-----BEGIN RSA PRIVATE KEY-----",
        'url = "postgresql://ias:s3cret@10.0.0.3/ias"',
        "AKIAABCDEFGHIJKLMNOP",
    ):
        assert _credential_hits(bad), bad
    for good in (
        "password = random_password.postgres.result",
        'password = "${random_password.postgres.result}"',
        'secret_id = "ias-db"',
        '"postgresql://%s:%s@%s:5432/%s?sslmode=require"',
    ):
        assert not _credential_hits(good), good


def test_no_literal_credentials_anywhere() -> None:
    files = [p for p in TF.rglob("*") if p.is_file() and (p.suffix == ".tf" or ".tfvars" in p.name)]
    assert len(files) >= len(ALL_TF)
    hits = {str(p.relative_to(TF)): _credential_hits(p.read_text(encoding="utf-8")) for p in files}
    assert not {k: v for k, v in hits.items() if v}


# ---- remote state --------------------------------------------------------------------------------


def test_each_environment_has_a_gcs_remote_state_backend() -> None:
    backends = [
        b for t in load(ROOT_CONFIG / "versions.tf").get("terraform", []) for b in t.get("backend", [])
    ]
    assert len(backends) == 1 and set(backends[0]) == {"gcs"}, backends
    prefixes = set()
    for env in ENVIRONMENTS:
        path = ENV_FILES / f"{env}.gcs.tfbackend"
        gcs = load(path)
        assert gcs.get("bucket") and gcs.get("prefix"), gcs
        assert env in gcs["prefix"]
        prefixes.add(gcs["prefix"])
        assert f"-backend-config=../environments/{env}.gcs.tfbackend" in path.read_text(encoding="utf-8")
    assert len(prefixes) == len(ENVIRONMENTS), "environments must not share a state prefix"


# ---- checkov -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    return checkov.scan("terraform", TF, "--download-external-modules", "false", timeout_s=180)


def test_checkov_reports_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, summary
    assert summary["passed"] >= 50, f"suspiciously few checks ran: {summary}"
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    scanned = {c["resource"].split(".", 2)[-1] for c in checkov_report["results"]["passed_checks"]}
    for needed in ("google_container_cluster.this", "google_sql_database_instance.postgres"):
        assert any(s.endswith(needed) for s in scanned), f"checkov did not scan {needed}"


def test_every_checkov_skip_has_a_reason(checkov_report: dict[str, Any]) -> None:
    for c in checkov_report["results"]["skipped_checks"]:
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) >= 20, f"{c['check_id']} on {c['resource']} skipped without a reason"
    # and in the sources, whatever checkov reports: `# checkov:skip=ID: reason`
    for path in ALL_TF:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip=" in line:
                m = re.search(r"checkov:skip=([A-Z0-9_]+):\s*(\S.{19,})", line)
                assert m, f"{path.relative_to(TF)}: skip without a reason: {line.strip()}"
