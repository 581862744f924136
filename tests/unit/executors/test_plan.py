"""Planning a run: the pools follow the model stages the pipeline declares, and every stage's
demand becomes a claim that fits beside the others."""

from __future__ import annotations

import pytest

from raybatch.config import load_config
from raybatch.executors.cluster import Cluster
from raybatch.executors.plan import plan_run
from raybatch.pipeline import stage_types
from raybatch.stages.base import Demand, Stage
from raybatch.stages.rows import AudioRow

GIB = 1024**3


def cluster(cpus: float, gpus: float = 0, nvenc: float = 0) -> Cluster:
    resources = {"CPU": cpus, "GPU": gpus, "memory": 16 * GIB, "nvenc": nvenc}
    node = {"id": "n1", "node": "n1", "address": "127.0.0.1", "resources": resources}
    return Cluster(on_ray=True, started_here=True, nodes=[node])


class Denoise(Stage[AudioRow]):
    """A third model stage, as a contributor would add one."""

    name, handles, demand = "denoise", AudioRow, Demand(runs_as="model")


def never(encoder: str) -> str | None:
    raise AssertionError("no test encode without nvenc nodes")


def test_two_cpus_fit_encoders_model_actors_and_the_task_reserve():
    config = load_config(None, {})
    types = stage_types(config)
    plan = plan_run(config, cluster(2), types, probe=never)
    assert plan.model_stages == 2 and plan.encoder.encoder == "libx264"
    claimed = (
        plan.pool.size * plan.pool.num_cpus + plan.model_stages * plan.models.size * plan.models.num_cpus
    )
    assert claimed <= 2 - plan.pool.reserved_cpus + 1e-9
    encoder = plan.resources_for(Demand(runs_as="encoder"))
    assert (encoder.actors, encoder.num_cpus, encoder.stateful) == (plan.pool.size, plan.pool.num_cpus, True)
    task = plan.resources_for(Demand())
    assert not task.stateful and task.num_cpus == plan.pool.task_cpus
    assert (
        plan.resources_for(Demand(cpus=8.0)).num_cpus == plan.pool.reserved_cpus
    )  # capped: always schedulable


def test_pool_sizing_counts_the_declared_model_stages():
    config = load_config(None, {})
    two = plan_run(config, cluster(2), stage_types(config), probe=never)
    three = plan_run(config, cluster(2), [*stage_types(config), Denoise], probe=never)
    none = plan_run(load_config(None, {"processing": {"analysis": False}}), cluster(2), [], probe=never)
    assert (two.model_stages, three.model_stages, none.model_stages) == (2, 3, 0)
    assert none.pool.num_cpus > two.pool.num_cpus > three.pool.num_cpus


def test_a_task_paced_by_the_models_runs_no_more_at_once_than_they_have_actors():
    config = load_config(None, {})
    plan = plan_run(config, cluster(32, gpus=2), stage_types(config), probe=never)
    assert plan.resources_for(Demand(paced_by_models=True)).max_in_flight == plan.models.size > 1
    assert plan.resources_for(Demand()).max_in_flight is None
    no_models = plan_run(load_config(None, {"processing": {"analysis": False}}), cluster(8), [], probe=never)
    assert no_models.resources_for(Demand(paced_by_models=True)).max_in_flight is None


def test_model_actors_share_the_gpus_between_the_model_stages():
    config = load_config(None, {})
    plan = plan_run(config, cluster(16, gpus=2), stage_types(config), probe=never)
    model = plan.resources_for(Demand(runs_as="model"))
    # 2 GPUs x 4 quarter-GPU slots, split between the 2 model stages, capped at one actor per 8 CPUs
    assert model.num_gpus == pytest.approx(0.25) and model.actors == 2


def test_nvenc_nodes_get_one_encoder_per_session_claiming_it():
    config = load_config(None, {})
    plan = plan_run(config, cluster(8, gpus=1, nvenc=3), stage_types(config), probe=lambda encoder: None)
    encoder = plan.resources_for(Demand(runs_as="encoder"))
    assert plan.encoder.encoder == "h264_nvenc" and encoder.actors == 3 and encoder.custom == {"nvenc": 1}
    assert plan.placement()["encoder"]["name"] == "h264_nvenc" and not plan.autoscale


def test_only_a_joined_cluster_grows_the_encoder_pool():
    config = load_config(None, {"batch": {"max_concurrent_jobs": 6}})
    embedded = plan_run(config, cluster(4), stage_types(config), probe=never)
    joined = plan_run(config, Cluster(on_ray=True, nodes=cluster(4).nodes), stage_types(config), probe=never)
    assert not embedded.autoscale and joined.autoscale
    assert joined.resources_for(Demand(runs_as="encoder")).max_actors == 6
    assert plan_run(config, Cluster(on_ray=False), stage_types(config), probe=never).encoder_settings()["crf"]


def test_only_a_pool_that_grows_needs_the_task_reserve_held_and_it_is_held_off_the_gpu_nodes():
    config = load_config(None, {})
    embedded = plan_run(config, cluster(4), stage_types(config), probe=never)
    assert embedded.task_reserve().cpus == 0  # its fixed pool leaves the reserve free
    gpu_node = {"id": "g1", "node": "g1", "address": "10.0.0.2", "resources": {"CPU": 8, "GPU": 1}}
    joined = Cluster(on_ray=True, nodes=[*cluster(4).nodes, gpu_node])
    reserve = plan_run(config, joined, stage_types(config), probe=never).task_reserve()
    assert reserve.cpus == 0.5 and reserve.nodes == ("n1",)  # planned from the CPU nodes
    only_gpus = plan_run(config, Cluster(on_ray=True, nodes=[gpu_node]), stage_types(config), probe=never)
    assert only_gpus.task_reserve().nodes == ()  # held wherever there is room


def test_x264_encoders_fill_the_cpu_only_nodes_before_a_gpu_nodes_cpus():
    config = load_config(None, {})
    gpu_node = {"id": "g1", "node": "g1", "address": "10.0.0.2", "resources": {"CPU": 1, "GPU": 1}}
    mixed = plan_run(
        config, Cluster(on_ray=True, nodes=[*cluster(2).nodes, gpu_node]), stage_types(config), probe=never
    )
    assert mixed.resources_for(Demand(runs_as="encoder")).prefer_nodes == ("n1",)
    assert mixed.resources_for(Demand(runs_as="model")).prefer_nodes == ()
    no_gpu = plan_run(config, cluster(4), stage_types(config), probe=never)
    assert no_gpu.resources_for(Demand(runs_as="encoder")).prefer_nodes == ()
