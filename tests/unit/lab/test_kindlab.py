"""The offline kind lab's pure logic: its cluster configuration and cache keys."""

import importlib.util
from pathlib import Path

import yaml

KINDLAB = Path(__file__).resolve().parents[3] / "lab" / "kind" / "kindlab.py"
SPEC = importlib.util.spec_from_file_location("kindlab", KINDLAB)
kindlab = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(kindlab)


class FakeImages:  # only the versions cluster_config reads
    v = {"LAB_ETCD_VERSION": "3.5.35", "LAB_COREDNS_VERSION": "1.12.0"}


def test_cluster_config_shape_and_images():
    doc = yaml.safe_load(kindlab.cluster_config(FakeImages(), workers=2))
    assert [n["role"] for n in doc["nodes"]] == ["control-plane", "worker", "worker"]
    patches = [yaml.safe_load(p) for p in doc["kubeadmConfigPatches"]]
    cluster = next(p for p in patches if p["kind"] == "ClusterConfiguration")
    kubelet = next(p for p in patches if p["kind"] == "KubeletConfiguration")
    # kubeadm pulls from the lab's registry name, with the real versions as tags
    assert cluster["imageRepository"] == "lab.ardur.invalid/k8s"
    assert cluster["etcd"]["local"]["imageTag"] == "3.5.35"
    assert cluster["dns"]["imageTag"] == "v1.12.0"
    # the SPIRE agent verifies its kubelet: serving certificates from the cluster CA
    assert kubelet["serverTLSBootstrap"] is True


def test_tree_hash_follows_content_not_tests(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.go").write_text("package main\n")
    first = kindlab.tree_hash(src)
    (src / "main_test.go").write_text("package main\n")
    assert kindlab.tree_hash(src) == first
    (src / "main.go").write_text("package main // changed\n")
    assert kindlab.tree_hash(src) != first


def test_loadable_is_every_image_but_the_node():
    refs = {"node": "n", "spire_images": {"spire_server": "s", "spire_agent": "a"},
            "previous": {"spire_images": {"spire_server": "s0", "spire_agent": "a0"}},
            "workload": "w", "postgres": "p"}
    assert sorted(kindlab.loadable(refs)) == ["a", "a0", "p", "s", "s0", "w"]
