"""The console's pure parts: sessions and CSRF tokens, labels, masking, the case
timeline and the flow page's arithmetic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import Environment, FileSystemLoader

from hub.console.i18n import DEFAULT_LANGUAGE, MESSAGES, language_of, translator
from hub.console.queries import percentile, worst_breaker
from hub.console.session import SessionSigner
from hub.console.timeline import CaseView, Hop, _history_hop, _outbox_hop, step_graph, trace_id_of, with_durations
from hub.console.web import HERE
from hub.db.models import HistoryRecord, OutboxMessage, Step
from hub.features.adapter_status import InstanceView
from hub.features.privacy.masking import applicant_label, initials, mask_fields

NOW = 1_800_000_000.0
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


class TestSessions:
    signer = SessionSigner(b"k" * 32, lifetime_seconds=600)

    def test_a_session_issued_verifies_until_it_expires(self) -> None:
        token, session = self.signer.issue("ayu", now=NOW)
        assert self.signer.verify(token, now=NOW + 599) == session
        assert session.operator == "ayu"
        assert self.signer.verify(token, now=NOW + 600) is None

    def test_a_tampered_or_foreign_cookie_is_refused(self) -> None:
        token, _ = self.signer.issue("ayu", now=NOW)
        body, mac = token.split(".")
        forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
        assert self.signer.verify(f"{forged_body}.{mac}", now=NOW) is None
        assert SessionSigner(b"x" * 32, 600).verify(token, now=NOW) is None
        for junk in (None, "", "abc", "a.b.c", "!!.??"):
            assert self.signer.verify(junk, now=NOW) is None

    def test_signing_out_revokes_that_session_only(self) -> None:
        signer = SessionSigner(b"k" * 32, 600)
        first, session = signer.issue("ayu", now=NOW)
        second, _ = signer.issue("ayu", now=NOW)
        signer.revoke(session, now=NOW)
        assert signer.verify(first, now=NOW + 1) is None
        assert signer.verify(second, now=NOW + 1) is not None

    def test_the_csrf_token_belongs_to_one_session(self) -> None:
        _, mine = self.signer.issue("ayu", now=NOW)
        _, theirs = self.signer.issue("budi", now=NOW)
        token = self.signer.csrf_token(mine)
        assert self.signer.csrf_ok(mine, token)
        assert not self.signer.csrf_ok(theirs, token)
        assert not self.signer.csrf_ok(mine, "")
        assert not self.signer.csrf_ok(mine, None)

    def test_the_cookie_does_not_carry_the_key(self) -> None:
        token, _ = self.signer.issue("ayu", now=NOW)
        assert "dev-operator-key" not in token


class TestLabels:
    def test_both_languages_label_the_same_things(self) -> None:
        assert MESSAGES["id"].keys() == MESSAGES["en"].keys()

    def test_indonesian_unless_english_is_chosen(self) -> None:
        assert DEFAULT_LANGUAGE == "id"
        assert language_of(None) == "id"
        assert language_of("fr") == "id"
        assert translator("en")("nav.deadletters") == "Dead letters"
        assert translator("id")("nav.deadletters") == "Surat mati"
        assert translator("id")("dl.confirm_bulk", count=3) == "Putar ulang 3 surat mati yang cocok?"
        assert translator("id")("no.such.label") == "no.such.label"


class TestMasking:
    def test_names_become_initials(self) -> None:
        assert initials("Siti Nurhaliza") == "S. N."
        assert initials("  budi  ") == "B."
        assert initials("") == "*"

    def test_niks_and_names_are_masked_at_any_depth(self) -> None:
        shown = mask_fields(
            {
                "nik": "1375015203900007",
                "name": "Siti Nurhaliza",
                "family": [{"nik": "1375015203900015", "nama": "Budi Santoso"}],
                "note": "NIK 1375015203900023 lost",
                "plate": "B 1234 KZT",
                "number": 1375015203900031,
            }
        )
        assert shown == {
            "nik": "1375**********07",
            "name": "S. N.",
            "family": [{"nik": "1375**********15", "nama": "B. S."}],
            "note": "NIK 1375**********23 lost",
            "plate": "B 1234 KZT",
            "number": "1375**********31",
        }

    def test_an_applicant_is_named_by_initials_and_masked_nik(self) -> None:
        assert applicant_label({"nik": "1375015203900007", "name": "Siti Nurhaliza"}) == "S. N. · 1375**********07"
        assert applicant_label(None) == "-"


def _step(name: str, after: list[str], *, superseded: bool = False) -> Step:
    return Step(
        id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        name=name,
        depends_on=after,
        superseded_by=uuid.uuid4() if superseded else None,
        service=f"x.{name}",
        agency=name,
        operation="op",
        status="ROUTED",
        inputs={},
        sla_due_at=None,
    )


class TestTimeline:
    def test_the_trace_id_comes_from_a_traceparent(self) -> None:
        assert trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert trace_id_of("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
        assert trace_id_of(None) is None
        assert trace_id_of("garbage") is None

    def test_hops_are_ordered_with_the_time_since_the_one_before(self) -> None:
        hops = with_durations(
            [
                Hop(T0 + timedelta(seconds=3), "hop.completed", None, ""),
                Hop(T0, "hop.submitted", None, ""),
                Hop(T0 + timedelta(milliseconds=250), "hop.published", None, ""),
            ]
        )
        assert [h.kind for h in hops] == ["hop.submitted", "hop.published", "hop.completed"]
        assert [h.since_previous for h in hops] == [None, timedelta(milliseconds=250), timedelta(seconds=2.75)]

    @pytest.mark.parametrize(
        ("from_status", "to_status", "on_step", "note", "kind"),
        [
            (None, "SUBMITTED", False, None, "hop.submitted"),
            ("SUBMITTED", "ROUTED", False, None, "hop.routed"),
            ("ROUTED", "COMPLETED", False, None, "hop.completed"),
            ("ROUTED", "REJECTED", False, None, "hop.ended"),
            ("SUBMITTED", "ROUTED", True, None, "hop.routed"),
            ("ROUTED", "ACCEPTED", True, None, "hop.accepted"),
            ("ACCEPTED", "IN_PROCESS", True, None, "hop.reported"),
            ("IN_PROCESS", "COMPLETED", True, None, "hop.reported"),
            ("COMPLETED", "IN_PROCESS", True, "refused: illegal", "hop.note"),
            ("ROUTED", "ROUTED", True, "polled", "hop.note"),
        ],
    )
    def test_each_history_entry_is_named_as_a_hop(
        self, from_status: str | None, to_status: str, on_step: bool, note: str | None, kind: str
    ) -> None:
        step = _step("main", [])
        record = HistoryRecord(
            case_id=step.case_id, step_id=step.id if on_step else None, from_status=from_status, to_status=to_status, note=note, at=T0
        )
        assert _history_hop(record, step if on_step else None).kind == kind

    def test_a_note_naming_a_nik_is_masked(self) -> None:
        step = _step("main", [])
        record = HistoryRecord(
            case_id=step.case_id, step_id=step.id, from_status="ROUTED", to_status="REJECTED", note="NIK 1375015203900007 unknown", at=T0
        )
        assert "1375015203900007" not in _history_hop(record, step).detail

    @pytest.mark.parametrize(
        ("topic", "kind"),
        [("mpp.requests", "hop.published"), ("mpp.commands.samsat", "hop.command_sent"), ("mpp.events.samsat", "hop.event")],
    )
    def test_outbox_rows_are_published_and_command_hops(self, topic: str, kind: str) -> None:
        row = OutboxMessage(topic=topic, key=b"k", value=b"{}", headers={}, created_at=T0, sent_at=T0 + timedelta(seconds=1))
        hop = _outbox_hop(row)
        assert (hop.kind, hop.at) == (kind, T0 + timedelta(seconds=1))
        assert "not yet sent" in _outbox_hop(OutboxMessage(topic=topic, key=b"k", value=b"{}", headers={}, created_at=T0)).detail

    def test_a_composite_is_laid_out_by_what_each_step_waits_for(self) -> None:
        nodes = step_graph(
            [
                _step("skck", []),
                _step("bpjs", []),
                _step("card", ["skck", "bpjs"]),
                _step("old", [], superseded=True),
                _step("mail", ["card"]),
            ]
        )
        assert [(n.name, n.depth, n.row) for n in nodes] == [("bpjs", 0, 0), ("skck", 0, 1), ("card", 1, 0), ("mail", 2, 0)]


class TestFlowArithmetic:
    def test_percentiles_by_nearest_rank(self) -> None:
        values = [float(v) for v in range(1, 101)]
        assert percentile(values, 0.5) == 50.0
        assert percentile(values, 0.95) == 95.0
        assert percentile([7.0], 0.95) == 7.0
        assert percentile([], 0.5) is None

    def test_an_agency_shows_the_worst_breaker_of_its_live_instances(self) -> None:
        def instance(state: str, *, stale: bool = False) -> InstanceView:
            return InstanceView("i", state, 0, None, None, T0, stale, 0.0)

        assert worst_breaker([]) == "none"
        assert worst_breaker([instance("closed"), instance("half_open")]) == "half_open"
        assert worst_breaker([instance("closed"), instance("open", stale=True)]) == "closed"
        assert worst_breaker([instance("open", stale=True)]) == "open"  # only stale ones: show what they said last


class TestCasePage:
    def test_a_composite_is_drawn_with_an_arrow_per_dependency(self) -> None:
        steps = step_graph([_step("skck", []), _step("bpjs", []), _step("card", ["skck", "bpjs"])])
        view = CaseView(uuid.uuid4(), "mpp.job_seeker_pack", "composite", "ROUTED", "S. N.", {}, T0, None, [], steps)
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
        html = env.get_template("case.html").render(
            case=view, t=translator("en"), lang="en", other_lang="id", here="/", operator="ayu", csrf="x", prefix="/console"
        )
        assert html.count('<g class="step') == 3
        assert html.count('<line class="edge"') == 2  # skck -> card, bpjs -> card
        assert 'id="trace-id">none' in html
