"""Sizing the encoder pool from a cluster's CPUs, memory and NVENC sessions, and the model actors' threads."""

from __future__ import annotations

from raybatch.executors.resources import PoolLimits, plan_encoder_pool, plan_model_actors, plan_nvenc_pool


def test_nvenc_pool_is_one_actor_per_session():
    pool = plan_nvenc_pool(8, 32, encoder_memory_bytes=1 << 30)
    assert pool.size == 8 and pool.num_cpus == 1.0
    small = plan_nvenc_pool(3, 2, encoder_memory_bytes=1 << 30)
    assert small.size == 3 and small.num_cpus * 3 <= 2 - small.reserved_cpus


GIB = 1024**3


def test_two_cpu_pool_leaves_room_for_tasks():
    pool = plan_encoder_pool(2, 16 * GIB, encoder_memory_bytes=GIB)
    assert pool.size == 2
    assert pool.size * pool.num_cpus + pool.task_cpus <= 2
    assert pool.size * pool.num_cpus <= 2 - pool.reserved_cpus
    assert pool.threads == 1


def test_pool_respects_flags_and_memory():
    assert (
        plan_encoder_pool(16, 64 * GIB, encoder_memory_bytes=GIB, limits=PoolLimits(max_concurrent=3)).size
        == 3
    )
    assert (
        plan_encoder_pool(
            16, 64 * GIB, encoder_memory_bytes=GIB, limits=PoolLimits(max_memory_bytes=4 * GIB)
        ).size
        == 4
    )
    assert plan_encoder_pool(16, 2 * GIB, encoder_memory_bytes=GIB).size == 2
    assert (
        plan_encoder_pool(16, None, encoder_memory_bytes=GIB, limits=PoolLimits(max_concurrent=1)).size == 1
    )
    big = plan_encoder_pool(64, None, encoder_memory_bytes=GIB)
    assert big.reserved_cpus == 4 and big.size * big.num_cpus <= 60


def test_single_cpu_still_gets_an_encoder():
    pool = plan_encoder_pool(1, None, encoder_memory_bytes=GIB)
    assert pool.size == 1 and 0 < pool.num_cpus <= 0.5


def test_cpu_models_beside_encoders_take_a_quarter_of_the_cores_and_alone_take_them_all():
    assert plan_model_actors(2, 0, 0.25).threads == 1
    assert plan_model_actors(16, 0, 0.25).threads == 4
    assert plan_model_actors(8, 0, 0.25).threads == 2
    assert plan_model_actors(2, 0, 0.25, beside_encoders=False).threads == 2
