"""keep_checkpoints: a run keeps every task's checkpoint file (not only the latest), also across a resume."""

import json

from sscl_core.run.checkpoint import file_sha256, load_checkpoint, read_manifest

RUN = ["run", "--method", "er", "--set", "train.iters_per_task=3", "--set", "dataset.num_tasks=3"]


def kept(run_dir):
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def test_only_the_latest_checkpoint_stays_by_default(sscl, tmp_path):
    assert sscl(*RUN, "--set", "run_name=default")[0] == 0
    assert kept(tmp_path / "runs" / "default") == ["after-task-3.pt"]


def test_keep_checkpoints_keeps_every_task_and_a_resume_keeps_them(sscl, tmp_path):
    assert sscl(*RUN, "--set", "keep_checkpoints=true", "--set", "run_name=kept")[0] == 0
    run_dir = tmp_path / "runs" / "kept"
    assert kept(run_dir) == ["after-task-1.pt", "after-task-2.pt", "after-task-3.pt"]
    manifest = read_manifest(run_dir)
    assert load_checkpoint(run_dir, manifest)["tasks_done"] == 3
    (run_dir / "checkpoints" / "after-task-3.pt").unlink()
    data = json.loads((run_dir / "checkpoint.json").read_text())
    data.update(tasks_done=2, file="checkpoints/after-task-2.pt", finished=False)
    data["sha256"] = file_sha256(run_dir / "checkpoints" / "after-task-2.pt")
    (run_dir / "checkpoint.json").write_text(json.dumps(data))  # as if killed during task 3
    code, _out, err = sscl("run", "--resume", str(run_dir))
    assert code == 0, err
    assert kept(run_dir) == ["after-task-1.pt", "after-task-2.pt", "after-task-3.pt"]
