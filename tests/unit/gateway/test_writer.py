import json

import pytest

from services.gateway.receipts.writer import ReceiptWriter


def test_each_receipt_is_one_line_in_its_runs_file(tmp_path):
    seen = []
    w = ReceiptWriter(tmp_path / "costs", on_write=seen.append)
    for i in range(3):
        w.write({"run_id": "run-a", "request_id": f"r{i}"})
    w.write({"run_id": "run-b", "request_id": "x"})
    w.close()
    lines = (tmp_path / "costs" / "run-a.jsonl").read_text().splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["r0", "r1", "r2"]
    assert seen == ["run-a", "run-a", "run-a", "run-b"]


@pytest.mark.parametrize("bad", ["../../x", "..", "a/b", "", "x" * 129])
def test_unsafe_run_ids_never_become_paths(tmp_path, bad):
    w = ReceiptWriter(tmp_path / "costs")
    with pytest.raises(ValueError):
        w.write({"run_id": bad, "request_id": "r"})
    assert list((tmp_path / "costs").iterdir()) == []
