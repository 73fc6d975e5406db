"""skaffold.yaml agrees with the Dockerfile, the charts and the repository: skaffold itself cannot
run here (no cluster, no Docker engine), so these checks keep it honest."""

import copy
import re

import jsonpatch
import yaml

from conftest import ROOT, chart_dir

SKAFFOLD = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stages() -> set[str]:
    return set(re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE, re.MULTILINE))


def with_profiles(*names: str) -> dict:
    config = copy.deepcopy(SKAFFOLD)
    for name in names:
        profile = next(p for p in SKAFFOLD["profiles"] if p["name"] == name)
        config = jsonpatch.apply_patch(config, profile.get("patches", []))
        for key in ("build",):
            if key in profile:
                config[key] = {**config[key], **profile[key]}
    return config


def test_every_artifact_is_a_dockerfile_stage_and_a_chart_image():
    artifacts = {a["image"]: a for a in SKAFFOLD["build"]["artifacts"]}
    assert set(artifacts) == {"microshop", "microshop-operator"}
    for image, artifact in artifacts.items():
        assert artifact["docker"]["target"] in stages(), image
        assert (ROOT / artifact["docker"]["dockerfile"]).exists()
    for chart, image in [("microshop", "microshop"), ("microshop-operator", "microshop-operator")]:
        values = yaml.safe_load((chart_dir(chart) / "values.yaml").read_text())
        assert values["image"]["repository"] == image, f"{chart}'s default image is the artifact"


def releases(config: dict) -> list[dict]:
    return config["deploy"]["helm"]["releases"]


def test_each_release_sets_its_own_artifact_and_its_chart_exists():
    for profiles in [(), ("deps",), ("operator",), ("operator", "deps")]:
        config = with_profiles(*profiles)
        images = {a["image"] for a in config["build"]["artifacts"]}
        for release in releases(config):
            assert (ROOT / release["chartPath"] / "Chart.yaml").exists(), release["chartPath"]
            templates = release["setValueTemplates"]
            key = re.search(r"IMAGE_REPO_(\w+)", templates["image.repository"]).group(1)
            assert key in {image.replace("-", "_") for image in images}, key
            assert f"IMAGE_TAG_{key}" in templates["image.tag"]
        for path in config["manifests"]["rawYaml"]:
            assert (ROOT / path).exists(), path
        if config["manifests"]["rawYaml"]:
            assert "kubectl" in config["deploy"], f"{profiles}: raw manifests need the kubectl deployer"


def test_the_profiles_deploy_what_they_say():
    assert [r["chartPath"] for r in releases(with_profiles())] == ["charts/microshop"]
    assert [r["chartPath"] for r in releases(with_profiles("operator"))] == ["charts/microshop-operator"]
    both = with_profiles("operator", "deps")["manifests"]["rawYaml"]
    assert "k8s/samples/microshop.yaml" in both and "k8s/dev/postgres.yaml" in both


def release_templates() -> dict:
    return releases(SKAFFOLD)[0]["setValueTemplates"]


def release_values() -> list[str]:
    """The release's plain values (setValues) as `helm template` flags."""
    flags = []
    for key, value in releases(SKAFFOLD)[0].get("setValues", {}).items():
        flags += ["--set", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    return flags


def test_port_forwards_name_services_the_charts_render():
    from conftest import render
    release = releases(SKAFFOLD)[0]["name"]
    docs = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml", *release_values(),
                  release=release)
    rendered = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Service"}
    for forward in SKAFFOLD["portForward"]:
        service = rendered.get(forward["resourceName"])
        assert service, f"{forward['resourceName']} is not a Service of release {release}"
        assert forward["port"] in [p["port"] for p in service["spec"]["ports"]], forward
    # The dev Secrets in k8s/dev/ are the ones this release reads.
    dev_secrets = {doc["metadata"]["name"] for doc in yaml.safe_load_all((ROOT / "k8s/dev/microshop-secrets.yaml").read_text())}
    read = {env["valueFrom"]["secretKeyRef"]["name"] for doc in docs if doc["kind"] == "Deployment"
            for env in doc["spec"]["template"]["spec"]["containers"][0]["env"] if "valueFrom" in env}
    # Secrets the release names through its values (Redis) rather than by the chart's defaults.
    named = {value for key, value in release_templates().items() if key.endswith(".existingSecret")}
    assert read | named == dev_secrets, (read, named, dev_secrets)
    # Every Service of the release is forwarded (the sandbox's hosted card page included).
    assert set(rendered) == {forward["resourceName"] for forward in SKAFFOLD["portForward"]}


def test_the_dev_mail_server_is_the_mailpit_sink_the_deps_profile_deploys():
    """The release's SMTP Secret (k8s/dev/) and the sample's point at the Mailpit of
    k8s/dev/mailpit.yaml, which the deps profile deploys, on its SMTP port."""
    assert "k8s/dev/mailpit.yaml" in with_profiles("deps")["manifests"]["rawYaml"]
    assert "k8s/dev/mailpit.yaml" in with_profiles("operator", "deps")["manifests"]["rawYaml"]
    mailpit = {doc["kind"]: doc for doc in yaml.safe_load_all((ROOT / "k8s/dev/mailpit.yaml").read_text())}
    ports = {port["name"]: port["port"] for port in mailpit["Service"]["spec"]["ports"]}
    assert ports == {"smtp": 1025, "http": 8025}
    assert mailpit["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"].startswith("axllent/mailpit:")
    smtp_url = f"smtp://{mailpit['Service']['metadata']['name']}.default.svc:{ports['smtp']}"
    name = releases(SKAFFOLD)[0]["setValues"]["smtp.secretRef.name"]
    dev = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all((ROOT / "k8s/dev/microshop-secrets.yaml").read_text())}
    assert dev[name]["stringData"]["SMTP_URL"] == smtp_url
    sample = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all((ROOT / "k8s/samples/microshop.yaml").read_text())}
    secret = sample["shop"]["spec"]["smtp"]["secretRef"]["name"]
    assert sample[secret]["stringData"]["SMTP_URL"] == smtp_url


def test_the_dockerfile_builds_every_binary_the_charts_and_the_operator_run():
    built = set(re.findall(r"--bin (\S+)", DOCKERFILE))
    service_stage = DOCKERFILE.split("AS microshop\n", 1)[1].split("FROM ", 1)[0]
    copied = set(re.findall(r"/out/(\S+)", service_stage))
    from conftest import render
    commands = {doc["spec"]["template"]["spec"]["containers"][0]["command"][0]
                for doc in render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml",
                                  "--set", "paymentSandbox.enabled=true")
                if doc["kind"] == "Deployment"}
    crd = (ROOT / "operator" / "src" / "crd" / "service.rs").read_text()
    binary_fn = crd.split("pub fn binary(self)", 1)[1].split("\n    }\n", 1)[0]
    operator_binaries = set(re.findall(r'=> "([\w-]+)"', binary_fn))
    assert commands == operator_binaries == {"user-service", "product-service", "order-service",
                                             "payment-service", "notification-service", "payment-sandbox",
                                             "gateway"}
    assert commands <= built and commands <= copied, (commands, built, copied)
    assert "microshop-operator" in built
    assert 'ENTRYPOINT ["microshop-operator"]' in DOCKERFILE
    cargo_bins = set()
    for manifest in [*ROOT.glob("services/*/Cargo.toml"), ROOT / "operator" / "Cargo.toml"]:
        cargo_bins.add(re.search(r'^name = "([^"]+)"', manifest.read_text(), re.MULTILINE).group(1))
    assert built <= cargo_bins, f"the Dockerfile builds binaries no package defines: {built - cargo_bins}"


def test_the_operator_profile_runs_the_shop_on_the_image_skaffold_built():
    """skaffold cannot rewrite the Deployments the operator writes: the operator must get the
    freshly built image through its chart, and the sample must not pin another one."""
    config = with_profiles("operator", "deps")
    assert "tagPolicy" not in config["build"], "no fixed tag: every build gets a new one"
    templates = releases(config)[0]["setValueTemplates"]
    assert templates["shopImage"] == "{{.IMAGE_FULLY_QUALIFIED_microshop}}"
    sample = next(doc for doc in yaml.safe_load_all((ROOT / "k8s/samples/microshop.yaml").read_text())
                  if doc["kind"] == "Microshop")
    assert "image" not in sample["spec"], "the sample leaves the image to the operator"
    from conftest import render
    values = chart_dir("microshop-operator") / "ci" / "default-values.yaml"
    docs = render("microshop-operator", values, "--set", "shopImage=localhost:5000/microshop:abc123")
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MICROSHOP_IMAGE"] == "localhost:5000/microshop:abc123"
    # The operator reads that variable (its Config).
    assert 'env = "MICROSHOP_IMAGE"' in (ROOT / "operator/src/config.rs").read_text()


def test_the_storefront_is_forwarded_to_localhost_8000_where_the_shop_says_it_is():
    """Both loops forward the gateway to localhost:8000, the address the chart's and the
    operator's SHOP_URL default to (mails and the way back from paying point there)."""
    from conftest import render
    for profiles, service in [((), "microshop-gateway"), (("operator",), "shop-gateway")]:
        forwards = {f["resourceName"]: f for f in with_profiles(*profiles)["portForward"]}
        assert forwards[service]["port"] == 8000 and forwards[service]["localPort"] == 8000, profiles
        assert len({f["localPort"] for f in forwards.values()}) == len(forwards), f"{profiles}: a local port twice"
    docs = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml", *release_values(),
                  release=releases(SKAFFOLD)[0]["name"])
    notification = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "microshop-notification")
    env = {e["name"]: e.get("value") for e in notification["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SHOP_URL"] == "http://localhost:8000"
    sample = next(doc for doc in yaml.safe_load_all((ROOT / "k8s/samples/microshop.yaml").read_text())
                  if doc["kind"] == "Microshop")
    assert "shopUrl" not in sample["spec"] and not sample["spec"].get("ingress", {}).get("enabled"), \
        "the sample's SHOP_URL is the port-forward's http://localhost:8000"
    assert 'pub const SHOP_URL: &str = "http://localhost:8000";' in (ROOT / "operator/src/resources/gateway.rs").read_text()
