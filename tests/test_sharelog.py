"""The share log: append-only JSON lines in a temporary config folder."""
import json
import os
import stat
from datetime import datetime, timezone

import pytest

from redact.record.sharelog import (
    LOG_FILE,
    Share,
    ShareLogError,
    append_share,
    log_path,
    read_shares,
)


def _share(n=0, **kw):
    fields = dict(request=f"claim {n}", recipient="insurer", purpose="parcel theft",
                  output_sha256=f"{n:02x}" * 32, fingerprint="ed25519:ab12 cd34 ef56 7890")
    return Share(**{**fields, **kw})


def test_one_line_per_call_read_back(config):
    written = [append_share(_share(n)) for n in range(3)]
    path = config / LOG_FILE
    assert path == log_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    log = read_shares()
    assert log.problems == ()
    assert log.entries == tuple(written)
    for entry in log.entries:
        when = datetime.fromisoformat(entry.time)
        assert when.utcoffset() == timezone.utc.utcoffset(None)
        assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 60


def test_lines_are_content_free(config, tmp_path):
    append_share(_share())
    text = (config / LOG_FILE).read_text()
    assert set(json.loads(text)) == {"time", "request", "recipient", "purpose", "output_sha256", "fingerprint",
                                     "share_id", "state"}
    assert str(tmp_path) not in text


def test_given_time_kept(config):
    entry = append_share(_share(time="2026-11-01T10:00:00+00:00"))
    assert entry.time == "2026-11-01T10:00:00+00:00"
    assert read_shares().entries[0].time == entry.time


def test_missing_log_is_empty(config):
    assert read_shares().entries == () and read_shares().problems == ()


def test_torn_last_line_reported_then_kept_apart(config):
    append_share(_share(1))
    path = config / LOG_FILE
    with open(path, "ab") as fh:
        fh.write(b'{"fingerprint":"ed25519:ab12 cd34 ef5')  # a write cut off by power loss
    log = read_shares()
    assert [e.request for e in log.entries] == ["claim 1"]
    assert len(log.problems) == 1 and "incomplete" in log.problems[0]
    # The next share starts on its own line, so the torn bytes cannot swallow it.
    append_share(_share(2))
    log = read_shares()
    assert [e.request for e in log.entries] == ["claim 1", "claim 2"]
    assert len(log.problems) == 1 and "line 2 is unreadable" in log.problems[0]


def test_unknown_keys_tolerated_and_junk_reported(config):
    path = config / LOG_FILE
    append_share(_share(1))
    with open(path, "a") as fh:
        fh.write(json.dumps({**json.loads(path.read_text()), "later_field": 1}) + "\n")
        fh.write("[1, 2]\n")
    log = read_shares()
    assert len(log.entries) == 2
    assert len(log.problems) == 1


def test_log_readable_by_others_refused(config):
    append_share(_share())
    (config / LOG_FILE).chmod(0o644)
    with pytest.raises(ShareLogError, match="chmod 600"):
        append_share(_share())
    assert len(read_shares().entries) == 1


@pytest.mark.parametrize("kw, error", [
    ({"output_sha256": "ABC"}, ValueError),
    ({"output_sha256": "AB" * 32}, ValueError),
    ({"recipient": None}, TypeError),
])
def test_bad_entries_refused(kw, error):
    with pytest.raises(error):
        _share(**kw)


def test_append_needs_a_share(config):
    with pytest.raises(TypeError, match="Share"):
        append_share({"request": "x"})


def test_deep_or_doubled_lines_are_reported_not_raised(config):
    append_share(_share(1))
    with open(config / LOG_FILE, "a") as fh:
        fh.write("[" * 100_000 + "]" * 100_000 + "\n")  # a RecursionError before
        fh.write('{"recipient": "a", "recipient": "b"}\n')
    log = read_shares()
    assert [e.request for e in log.entries] == ["claim 1"]
    assert ["line 2 is unreadable" in p or "line 3 is unreadable" in p for p in log.problems] == [True, True]
