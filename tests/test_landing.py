from __future__ import annotations

import pytest

from luna_core.db.tenancy import InvalidTenantId
from luna_core.landing import archive, drop_file, pending_files, tenant_dir


def test_drop_and_archive_keep_every_copy(settings, tmp_path):
    source = tmp_path / "readings.csv"
    for version in ("first", "second"):
        source.write_text(version)
        dropped = drop_file(settings, "landing-a", source)
        assert pending_files(settings, "landing-a") == [dropped]
        archive(settings, "landing-a", dropped, "processed")
    processed = tenant_dir(settings, "landing-a") / "processed"
    assert sorted(p.read_text() for p in processed.iterdir()) == ["first", "second"]
    assert pending_files(settings, "landing-a") == []


def test_paths_come_from_validated_tenant_ids_only(settings, tmp_path):
    with pytest.raises(InvalidTenantId):
        tenant_dir(settings, "../other-tenant")
    with pytest.raises(ValueError, match="unsupported file type"):
        drop_file(settings, "landing-a", tmp_path / "notes.txt")


def test_archive_writes_the_reason_beside_a_rejected_file(settings, tmp_path):
    source = tmp_path / "broken.csv"
    source.write_text("not,a,reading\n")
    dropped = drop_file(settings, "landing-a", source)
    target = archive(settings, "landing-a", dropped, "rejected", reason="broken.csv: no kwh column")
    assert target.parent == tenant_dir(settings, "landing-a") / "rejected"
    assert target.with_name("broken.csv.reason.txt").read_text() == "broken.csv: no kwh column\n"
