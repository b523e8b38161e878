"""Datastore test fixtures: a provider unit with its data officer, a published resource, and a
private folder for uploaded files."""

from __future__ import annotations

import io

import pytest

from accounts.roles import Role

from .factories import person_resource


@pytest.fixture(autouse=True)
def _files_dir(settings, tmp_path):
    settings.GOVHUB_DATASTORE_FILES_DIR = tmp_path / "datastore"


@pytest.fixture
def provider(make_unit):
    return make_unit(name="芙蓉区公安分局")


@pytest.fixture
def officer(make_user, provider):
    return make_user(roles=[Role.DATA_OFFICER], unit=provider)


@pytest.fixture
def resource(provider):
    return person_resource(provider)


@pytest.fixture
def upload():
    """``upload("text", name="x.csv", encoding="utf-8")`` -> a named file object."""

    def make(content, name: str = "data.csv", encoding: str = "utf-8"):
        data = content if isinstance(content, bytes) else content.encode(encoding)
        f = io.BytesIO(data)
        f.name = name
        f.size = len(data)
        return f

    return make


@pytest.fixture
def run_load(django_capture_on_commit_callbacks):
    """Create a load through the service and run its job (as the worker would after commit)."""
    from datastore import services

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            load = services.load_create(**kwargs)
        load.refresh_from_db()
        return load

    return run
