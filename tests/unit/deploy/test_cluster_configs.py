"""The deployment files in cluster/: valid for the tools that read them, and safe.

Launcher YAMLs are checked by Ray's own validation (the JSON schema shipped with the installed
ray, after its provider defaults are merged, as `ray up` does). The KubeRay manifest is checked
against the RayJob/RayCluster fields it uses (names and types of the ray.io/v1 CRDs), so a typo
or a wrongly typed field fails here rather than at `kubectl apply`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

CLUSTER = Path(__file__).resolve().parents[3] / "cluster"


LAUNCHER_FILES = sorted(p for p in CLUSTER.glob("*.yaml") if not p.name.startswith("kuberay"))


def test_there_are_launcher_configs_for_aws_and_gcp():
    assert {p.name for p in LAUNCHER_FILES} == {"aws-gpu.yaml", "gcp-gpu.yaml"}


@pytest.mark.parametrize("path", LAUNCHER_FILES, ids=lambda p: p.name)
def test_launcher_config_passes_rays_own_validation(path):
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load(path.read_text())
    validate_config(prepare_config(config))


@pytest.mark.parametrize("path", LAUNCHER_FILES, ids=lambda p: p.name)
def test_launcher_config_keeps_auth_on_and_the_dashboard_private(path):
    config = yaml.safe_load(path.read_text())
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    for command in (c for c in starts if "ray start" in c):
        assert "RAY_AUTH_MODE=token" in command, command
    head_start = next(c for c in config["head_start_ray_commands"] if "ray start" in c)
    assert "--dashboard-host=127.0.0.1" in head_start
    # Every node gets the token; none gets it from the repository.
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"


@pytest.mark.parametrize("path", LAUNCHER_FILES, ids=lambda p: p.name)
def test_launcher_config_has_cpu_and_gpu_workers_and_installs_what_raybatch_needs(path):
    config = yaml.safe_load(path.read_text())
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"]["CPU"] == 0  # the head coordinates only
    workers = {name: spec for name, spec in types.items() if name != config["head_node_type"]}
    gpu = [spec for spec in workers.values() if spec["resources"].get("nvenc")]
    cpu = [spec for spec in workers.values() if not spec["resources"].get("nvenc")]
    assert gpu and cpu
    setup = config["setup_commands"]
    # Not apt's ffmpeg (4.4 on these images): the static build, on every node.
    assert not any(re.search(r"apt-get install[^&]*\bffmpeg\b", c) for c in setup), setup
    assert any("cluster/install_ffmpeg.sh" in c for c in setup), setup
    lists = [config["head_setup_commands"], config["worker_setup_commands"]]
    lists += [spec["worker_setup_commands"] for spec in gpu]
    for commands in lists:
        installs = [c for c in commands if "pip install" in c]
        assert installs, commands
        for command in installs:
            # torch pinned in the same pip command as raybatch, or pip would pull other CUDA wheels.
            assert "torch==2.13.0" in command and "-e ~/raybatch" in command, command
        # Then the ffmpeg gate, on every node, with NVENC where the node encodes with it.
        gate = commands[commands.index(installs[-1]) + 1]
        assert gate.startswith("python3 -m raybatch.media.toolchain"), commands
        assert gate.endswith("h264_nvenc") == (commands in [spec["worker_setup_commands"] for spec in gpu])
    assert config["file_mounts"]["~/raybatch"] == "."


_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


_QUANTITY = {"anyOf": [{"type": "string"}, {"type": "integer"}]}


_RESOURCES = {
    "type": "object",
    "properties": {
        "requests": {"type": "object", "additionalProperties": _QUANTITY},
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
    },
    "additionalProperties": False,
}


_ENV = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "value": {"type": "string"},
            "valueFrom": {
                "type": "object",
                "properties": {
                    "secretKeyRef": {
                        "type": "object",
                        "required": ["key"],
                        "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
                        "additionalProperties": False,
                    }
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


_CONTAINER = {
    "type": "object",
    "required": ["name", "image"],
    "properties": {
        "name": {"type": "string"},
        "image": {"type": "string"},
        "env": _ENV,
        "resources": _RESOURCES,
        "volumeMounts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "mountPath"],
                "properties": {"name": {"type": "string"}, "mountPath": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


_POD_TEMPLATE = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "spec": {
            "type": "object",
            "required": ["containers"],
            "properties": {
                "containers": {"type": "array", "minItems": 1, "items": _CONTAINER},
                "restartPolicy": {"enum": ["Always", "OnFailure", "Never"]},
                "tolerations": {"type": "array", "items": {"type": "object"}},
                "volumes": {"type": "array", "items": {"type": "object", "required": ["name"]}},
            },
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}


_GROUP = {
    "rayStartParams": _STRING_MAP,  # values must be strings: "0", not 0
    "template": _POD_TEMPLATE,
}


RAYJOB_FIELDS = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayJob"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["entrypoint", "rayClusterSpec"],
            "properties": {
                "entrypoint": {"type": "string"},
                "submissionMode": {"enum": ["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]},
                "shutdownAfterJobFinishes": {"type": "boolean"},
                "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
                "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
                "runtimeEnvYAML": {"type": "string"},
                "submitterPodTemplate": _POD_TEMPLATE,
                "rayClusterSpec": {
                    "type": "object",
                    "required": ["headGroupSpec"],
                    "properties": {
                        "rayVersion": {"type": "string"},
                        "enableInTreeAutoscaling": {"type": "boolean"},
                        "headGroupSpec": {
                            "type": "object",
                            "required": ["rayStartParams", "template"],
                            "properties": {**_GROUP, "serviceType": {"enum": ["ClusterIP"]}},
                            "additionalProperties": False,
                        },
                        "workerGroupSpecs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["groupName", "rayStartParams", "template"],
                                "properties": {
                                    **_GROUP,
                                    "groupName": {"type": "string"},
                                    "replicas": {"type": "integer", "minimum": 0},
                                    "minReplicas": {"type": "integer", "minimum": 0},
                                    "maxReplicas": {"type": "integer", "minimum": 0},
                                },
                                "additionalProperties": False,
                            },
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def _rayjob() -> dict:
    documents = [d for d in yaml.safe_load_all((CLUSTER / "kuberay-rayjob.yaml").read_text()) if d]
    return next(d for d in documents if d.get("kind") == "RayJob")


def test_kuberay_rayjob_uses_only_known_fields_with_their_types():
    jsonschema.validate(_rayjob(), RAYJOB_FIELDS)


def test_kuberay_rayjob_keeps_token_auth_on_every_pod_and_runs_a_batch():
    job = _rayjob()
    spec = job["spec"]
    assert spec["entrypoint"].startswith("raybatch batch process ")
    cluster = spec["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    templates = [g["template"] for g in groups] + [spec["submitterPodTemplate"]]
    for template in templates:
        for container in template["spec"]["containers"]:
            env = {e["name"]: e for e in container["env"]}
            assert env["RAY_AUTH_MODE"]["value"] == "token"
            assert "secretKeyRef" in env["RAY_AUTH_TOKEN"]["valueFrom"]  # never a literal token
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    gpu = next(g for g in cluster["workerGroupSpecs"] if g["groupName"] == "gpu")
    # KubeRay passes the value to `ray start --resources` as written: a quoted JSON string.
    assert json.loads(json.loads(gpu["rayStartParams"]["resources"])) == {"nvenc": 4}
    limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
