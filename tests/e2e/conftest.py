"""The E2E harness (issue 8): the system only as users see it, checked in its real databases.

* ``target`` (session): the IAS under test — a deployed one from ``IAS_E2E_*`` or one
  ``ias up`` stack shared by every xdist worker (:mod:`tests.e2e.harness.target`).
* ``trace`` (test): every exchange and lookup of the test, printed (keys masked) when it fails.
* ``root``: the System Admin's session; ``tenants``: orgs and members made through the
  Management API, deleted again when the test ends (and the deletion is checked).
* ``pg`` / ``ch``: PostgreSQL and ClickHouse, read directly.

Markers: ``happy`` (Happy Path: CI and every pull request), ``regression`` (Full Regression:
nightly, and in ``make test``), ``lifecycle`` (stops and restarts a stack it owns: last, alone).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness.api import Session, Tenants, leftovers, login
from tests.e2e.harness.stores import ClickHouse, Postgres
from tests.e2e.harness.target import ManagedStack, Target, deployed
from tests.e2e.harness.trace import Trace

_TRACE = pytest.StashKey[Trace]()
_FIGURE = "e2e_figure"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # the lifecycle test stops the shared stack: it goes last
    items.sort(key=lambda item: item.get_closest_marker("lifecycle") is not None)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Target]:
    if deployed():
        yield Target.from_env()
        return
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base  # xdist: the workers' common parent
    with ManagedStack(shared / "ias_e2e_stack").lease(worker_id) as t:
        yield t


@pytest.fixture
def trace(request: pytest.FixtureRequest) -> Trace:
    t = Trace()
    request.node.stash[_TRACE] = t
    return t


@pytest.fixture
def figure(record_property):  # type: ignore[no-untyped-def]
    """``figure("what: value")``: a measured figure, listed at the end of the run (it travels
    with the test's report, so xdist workers' figures reach the summary too)."""

    def record(text: str) -> None:
        record_property(_FIGURE, text)

    return record


@pytest.fixture
def root(target: Target, trace: Trace) -> Iterator[Session]:
    session = login(target, trace, target.admin_email, target.admin_password)
    yield session
    session.close()


@pytest.fixture
def pg(target: Target, trace: Trace) -> Postgres:
    return Postgres(target.database_url, trace)


@pytest.fixture
def ch(target: Target, trace: Trace) -> Iterator[ClickHouse]:
    store = ClickHouse(target.clickhouse_url, trace)
    yield store
    store.close()


@pytest.fixture
def tenants(target: Target, trace: Trace, root: Session, pg: Postgres) -> Iterator[Tenants]:
    made = Tenants(target, trace, root)
    yield made
    emails = [m.session.email.lower() for t in made.made for m in t.members.values()]
    for org_id in made.cleanup():
        left = leftovers(pg, org_id, emails)
        assert set(left.values()) == {0}, f"cleanup left rows of org {org_id}: {left}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    trace = item.stash.get(_TRACE, None)
    if report.failed and trace is not None:
        report.sections.append((f"IAS exchanges and lookups ({report.when}; keys masked)", trace.render()))
    return report


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    figures = [
        f"{report.nodeid}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == _FIGURE
    ]
    if figures:
        terminalreporter.section("E2E figures")
        for line in figures:
            terminalreporter.write_line(line)
