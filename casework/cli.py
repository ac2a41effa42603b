"""`flask casework ...`: operator commands."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from casework.accounts.models import Organisation, Role
from casework.accounts.services import AccountError, create_user, get_or_create_organisation
from casework.actors import SYSTEM
from casework.audit.anchors import check_anchors
from casework.audit.jobs import anchor_audit_job
from casework.audit.roles import app_role_statements
from casework.audit.services import verify_all
from casework.cases.jobs import run_purge
from casework.cases.models import Case
from casework.deadlines.jobs import dispatch
from casework.deadlines.sweep import record_run, sweep
from casework.demo import DEMO_PASSWORD, demo_is_loaded, load_demo
from casework.evidence.files import EVIDENCE_STORES, evidence_store_named
from casework.evidence.moving import move_evidence
from casework.evidence.xlinks import XLinkError, parse_x_link
from casework.extensions import current_app_object, db
from casework.health import check_database, check_redis, worker_status
from casework.intake.services import draft_store
from casework.jobs import redis_connection, runner_label
from casework.notices.bundles import verify_bundle
from casework.notices.describe import describe_deadline, letters_table
from casework.notices.letters import create_letter
from casework.notices.models import Notice
from casework.notices.services import NoticeError, latest_notice
from casework.orm import utcnow
from casework.registry import default_registry


@click.group("casework")
def cli_group() -> None:
    """Casework operator commands."""


@cli_group.command("parse-link")
@click.argument("urls", nargs=-1, required=True)
def parse_link(urls: tuple[str, ...]) -> None:
    """Parse X post links; print one JSON object per input; exit 1 if any was refused."""
    refused = 0
    for text in urls:
        try:
            post = parse_x_link(text)
        except XLinkError as exc:
            refused += 1
            record = {"input": text, "ok": False, "reason": exc.code, "message": str(exc)}
        else:
            record = {
                "input": text,
                "ok": True,
                "url": post.url,
                "handle": post.handle,
                "status_id": str(post.status_id),
                "posted_at": post.posted_at.isoformat() if post.posted_at else None,
            }
        click.echo(json.dumps(record, ensure_ascii=False))
    if refused:
        sys.exit(1)


@cli_group.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--organisation", "org_slug", required=True, help="Organisation slug.")
@click.option("--organisation-name", default=None, help="Name, if the organisation is new.")
@click.password_option("--password", help="At least 12 characters (asked for if not given).")
@with_appcontext
def create_user_command(
    email: str,
    name: str,
    role: str,
    org_slug: str,
    organisation_name: str | None,
    password: str,
) -> None:
    """Create a staff user in an organisation (created if new)."""
    session = db.session
    org = session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    if org is None:
        org = get_or_create_organisation(session, org_slug, organisation_name or org_slug)
    try:
        user = create_user(
            session,
            organisation=org,
            email=email,
            name=name,
            role=Role(role),
            password=password,
            actor=SYSTEM,
        )
    except AccountError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Created {user.role.value} {user.email} in {org.slug}.")


@cli_group.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when there are cases already.")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Load the demo data set (development only)."""
    if current_app.config["CASEWORK_ENV"] == "production":
        raise click.ClickException("The demo data set is not loaded in production.")
    if if_empty and demo_is_loaded(db.session):
        click.echo("Cases exist already; demo data not loaded.")
        return
    counts = load_demo(db.session)
    db.session.commit()
    click.echo(
        f"Loaded {counts['cases']} demo cases in {counts['organisations']} organisations. "
        f"Sign in as caseworker1@safe-harbour.example (or admin@, lawyer@) "
        f"with the password {DEMO_PASSWORD}."
    )


@cli_group.command("check")
@with_appcontext
def check_command() -> None:
    """Check configuration, database, Redis and deadline tracking; say plainly what is wrong."""
    app = current_app_object()
    click.echo(f"environment: {app.config['CASEWORK_ENV']}")
    problems = 0
    for check in (check_database(app), check_redis(app)):
        mark = "ok" if check.ok else "PROBLEM"
        click.echo(f"{check.name}: {mark} - {check.detail}")
        problems += 0 if check.ok else 1
    tracking = worker_status(app)["deadline_tracking"]
    if tracking["running"]:
        click.echo("deadline tracking: ok - a worker is alive and nothing is overdue")
    else:
        click.echo("deadline tracking: PROBLEM - not running")
        for problem in tracking["problems"]:
            click.echo(f"  - {problem}")
        problems += 1
    if problems:
        sys.exit(1)


@cli_group.command("verify-audit")
@click.option(
    "--anchors",
    "anchor_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Anchor file to check the chains against (default: CASEWORK_AUDIT_ANCHOR_FILE).",
)
@with_appcontext
def verify_audit_command(anchor_file: Path | None) -> None:
    """Check every audit chain's links and its anchored heads; name the first break."""
    reports = verify_all(db.session)
    broken = [r for r in reports if not r.ok]
    for report in reports:
        status = "ok" if report.ok else f"BROKEN at {report.problem}"
        click.echo(f"chain {report.chain_id}: {report.events} events, {status}")
    path = anchor_file or Path(current_app.config["AUDIT_ANCHOR_FILE"])
    problems = check_anchors(db.session, path)
    if not path.exists():
        click.echo(f"anchors: none yet ({path})")
    elif problems:
        for problem in problems:
            click.echo(f"anchors: BROKEN at {problem}")
    else:
        click.echo(f"anchors: ok ({path})")
    if broken or problems:
        sys.exit(1)


@cli_group.command("app-role-sql")
@click.option("--role", default="casework_app", show_default=True)
def app_role_sql_command(role: str) -> None:
    """Print the SQL that lets a PostgreSQL role run the app without rewriting the audit trail."""
    try:
        statements = app_role_statements(role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for statement in statements:
        click.echo(statement + ";")


@cli_group.command("anchor-audit")
@with_appcontext
def anchor_audit_command() -> None:
    """Append every chain's signed head to the anchor file and email the digests."""
    chains = anchor_audit_job()
    click.echo(f"Anchored {chains} audit chains in {current_app.config['AUDIT_ANCHOR_FILE']}.")


@cli_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete cases closed more than CASEWORK_RETENTION_DAYS ago, with their files."""
    purge = run_purge(dry_run=dry_run)
    files = "evidence file" if purge.evidence_files == 1 else "evidence files"
    counts = f"{purge.cases} cases, {purge.items} posts, {purge.evidence_files} {files}"
    days = current_app.config["RETENTION_DAYS_AFTER_CLOSE"]
    if dry_run:
        click.echo(f"Would delete {counts} (closed more than {days} days ago).")
    else:
        click.echo(f"Deleted {counts} (closed more than {days} days ago).")


@cli_group.command("purge-drafts")
@with_appcontext
def purge_drafts_command() -> None:
    """Delete half-finished public reports not saved for DRAFT_MAX_AGE_HOURS."""
    removed = draft_store(current_app.config).purge_expired()
    click.echo(f"Deleted {removed} expired draft reports.")


@cli_group.command("sweep")
@click.option(
    "--at",
    "at",
    default=None,
    help="Handle what is due as of this ISO-8601 time with a zone (default: now).",
)
@with_appcontext
def sweep_command(at: str | None) -> None:
    """Handle every reminder and deadline that is due, once, and print what was handled."""
    started = utcnow()
    now = started
    if at:
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(
                f"{at!r} is not an ISO-8601 time such as 2026-03-04T09:30:00+00:00",
                param_hint="--at",
            ) from None
        if now.tzinfo is None:
            raise click.BadParameter(
                "give the time zone too, e.g. 2026-03-04T09:30:00Z or +01:00", param_hint="--at"
            )
    app = current_app_object()
    report = sweep(
        db.session,
        now=now,
        by=runner_label("cli"),
        batch_size=int(app.config.get("SWEEP_BATCH_SIZE", 500)),
        removal_checks=bool(app.config.get("REMOVAL_CHECKS_ENABLED")),
        removal_follow_up_days=int(app.config.get("REMOVAL_CHECK_FOLLOW_UP_DAYS", 30)),
        email_grace_seconds=int(app.config.get("SWEEP_EMAIL_GRACE_SECONDS", 120)),
        after_commit=dispatch,
    )
    record_run(db.session, report, started_at=started, redis=redis_connection(app))
    click.echo(report.summary())


@cli_group.command("routes")
@click.option("--markdown", is_flag=True, help="Print the README's table of letters instead.")
def routes_command(markdown: bool) -> None:
    """List the legal routes: deadlines, the oldest check of each route's facts, which facts
    are unverified and which have no recorded source."""
    registry = default_registry()
    if markdown:
        click.echo(letters_table(registry), nl=False)
        return
    oldest = min(route.oldest_check for route in registry.routes)
    stale = sum(route.oldest_check == oldest for route in registry.routes)
    click.echo(
        f"registry version {registry.version}; oldest check {oldest.isoformat()} "
        f"({stale} of {len(registry.routes)} routes)"
    )
    for route in registry.routes:
        unverified = route.unverified_facts()
        unsourced = [name for name, found in route.provenances().items() if found is None]
        status = "verified" if not unverified else "UNVERIFIED: " + ", ".join(unverified)
        if unsourced:
            status += "  NO SOURCE: " + ", ".join(unsourced)
        checked = f"checked {route.oldest_check.isoformat()}"
        click.echo(f"{route.key:<30} {describe_deadline(route):<52} {checked}  {status}")


@cli_group.command("letter")
@click.argument("case_reference")
@click.argument("route_key")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--notice", "notice_id", type=int, default=None, help="Use this notice's details.")
@with_appcontext
def letter_command(case_reference: str, route_key: str, out: str, notice_id: int | None) -> None:
    """Render and store a new version of the route's letter for a case; write it to --out."""
    session = db.session
    case = session.scalar(select(Case).where(Case.reference == case_reference.strip().upper()))
    if case is None:
        raise click.ClickException(f"No case {case_reference}.")
    notice = None
    if notice_id is not None:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.case_id != case.id:
            raise click.ClickException(f"No notice {notice_id} on case {case.reference}.")
    else:
        notice = latest_notice(session, case, route_key)
    try:
        letter = create_letter(session, case=case, route_key=route_key, actor=SYSTEM, notice=notice)
    except NoticeError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    Path(out).write_bytes(letter.pdf)
    click.echo(f"{case.reference} {route_key} v{letter.version} sha256 {letter.sha256} -> {out}")
    missing = letter.data_snapshot.get("missing") or []
    if letter.draft:
        gaps = "missing " + ", ".join(missing) if missing else "placeholders to fill in"
        click.echo(f"draft: {gaps}", err=True)


@cli_group.command("verify-bundle")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def verify_bundle_command(path: str) -> None:
    """Check an evidence bundle against its SHA256SUMS, manifest and audit extract."""
    report = verify_bundle(Path(path))
    for problem in report.problems:
        click.echo(f"FAILED {problem}")
    if not report.ok:
        sys.exit(1)
    click.echo(f"ok: {report.checked} files match SHA256SUMS, the manifest and the audit hashes")


@cli_group.group("evidence")
def evidence_group() -> None:
    """Evidence storage commands."""


_STORE_NAMES = {"local": "the local folder", "database": "the database"}


@evidence_group.command("move")
@click.option(
    "--to",
    "target_name",
    type=click.Choice(EVIDENCE_STORES),
    required=True,
    help="The store to move evidence files into; the other one is the source.",
)
@click.option(
    "--remove-source",
    is_flag=True,
    help="Delete the files from the source once every one is verified in the target. "
    "Refused while CASEWORK_EVIDENCE_STORE still names the source.",
)
@with_appcontext
def evidence_move_command(target_name: str, remove_source: bool) -> None:
    """Copy every evidence file from one store to the other and verify each SHA-256.

    Safe to run again: files already in the target are verified, not copied.
    """
    source_name = next(name for name in EVIDENCE_STORES if name != target_name)
    config = current_app.config
    if remove_source and config["EVIDENCE_STORE"] == source_name:
        raise click.ClickException(
            f"CASEWORK_EVIDENCE_STORE is {source_name}: the app still reads "
            f"{_STORE_NAMES[source_name]}. Set it to {target_name} (and restart the app "
            "and the workers) before removing the source's files."
        )
    move = move_evidence(
        db.session,
        evidence_store_named(source_name, config, db.session),
        evidence_store_named(target_name, config, db.session),
        remove_source=remove_source,
    )
    source, target = _STORE_NAMES[source_name], _STORE_NAMES[target_name]
    click.echo(f"Evidence files named by the cases: {move.referenced}.")
    click.echo(f"Copied from {source} to {target}: {move.copied}.")
    click.echo(f"Already in {target}: {move.already_there}.")
    click.echo(f"Verified in {target} (SHA-256 read back): {move.verified}.")
    if remove_source:
        click.echo(f"Removed from {source}: {move.removed}.")
    for key in move.missing:
        click.echo(f"MISSING {key[:12]}...: in neither store", err=True)
    for key in move.failed:
        click.echo(f"FAILED {key[:12]}...: a copy failed its integrity check", err=True)
    if not move.ok:
        if remove_source:
            click.echo(f"Nothing was removed from {source}.", err=True)
        sys.exit(1)
