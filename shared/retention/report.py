"""The retention report: what would go on a day per class and per client (a dry run), or what
went (applied), gathered from the services' retention watches and the access log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from shared.auth.access_log import AccessLog
from shared.messaging.dead_letters import DeadLetterArchive
from shared.retention.access_log import ACCESS_LOG, access_log_due, purge_access_log
from shared.retention.classes import Clock, EndsIn, RetentionClass
from shared.retention.clocks import Due
from shared.retention.dead_letters import DEAD_LETTERS, dead_letters_due, purge_dead_letters
from shared.retention.watch import RetentionWatch, business_day


class ClientClassDue(BaseModel):
    client_id: UUID
    retention_class: str
    record: str | None = Field(
        default=None,
        description="The record whose own clock this is (a letter's id), or null: the client's.",
    )
    clock_started_on: date = Field(description="The day the class's clock started.")
    goes_on: date | None = Field(description="The first day it may go; null while held.")
    held_by: list[str] = Field(description="The reasons of the legal holds in force.")
    ends_in: EndsIn
    rule: str = Field(description="The class's period, clock and the source of the period.")


class ClassSummary(BaseModel):
    retention_class: str
    title: str
    period: str
    clock: Clock
    ends_in: EndsIn
    source: str = Field(description="The statute, or the municipality's own decision.")
    watched: bool = Field(
        description="Whether this report ran the class's clock (false: not here, or not yet "
        "built — nothing of it goes by this report)."
    )
    due: int = Field(
        description="Clients (for a class of records with clocks of their own, such as letters: "
        "records; for the access log: reads; for the dead letters: messages) due to go."
    )
    held: int = Field(description="Clients whose clock is stopped by a legal hold.")


class AccessLogDueView(BaseModel):
    written_before: date = Field(description="Reads logged before this day have run out.")
    reads: int


class DeadLettersDueView(BaseModel):
    written_before: date = Field(description="Dead letters made before this day have run out.")
    letters: int


class RetentionReport(BaseModel):
    as_of: date = Field(description="The business day the report was made for.")
    applied: bool = Field(description="False: a dry run, nothing went.")
    classes: list[ClassSummary]
    clients: list[ClientClassDue] = Field(
        description="Per client and class: what is due (or, applied, what went)."
    )
    access_log: AccessLogDueView | None
    dead_letters: DeadLettersDueView | None = None


def retention_report(
    watches: Sequence[RetentionWatch],
    classes: dict[str, RetentionClass],
    access_log: AccessLog | None,
    *,
    moment: datetime,
    apply: bool = False,
    visible: Callable[[UUID], bool] = lambda _: True,
    dead_letters: DeadLetterArchive | None = None,
) -> RetentionReport:
    """``watches`` must go by ``moment`` (their clock); with ``apply`` each deletes what is
    due and the access log and the dead letters are purged. ``visible`` leaves out clients
    the caller may not see."""
    every: list[Due] = []
    due: list[Due] = []
    for watch in watches:
        found = watch.report()
        every += found
        due += watch.fire() if apply else [item for item in found if item.due]
    # The caller learns of the clients it may see only, in the lists and in the counts.
    every = [item for item in every if visible(item.client_id)]
    due = [item for item in due if visible(item.client_id)]
    log_class = classes.get(ACCESS_LOG)
    log_due = None
    if access_log is not None and log_class is not None:
        deletes = apply and log_class.ends_in is EndsIn.DELETION
        job = purge_access_log if deletes else access_log_due
        gone = job(access_log, log_class, moment)
        log_due = AccessLogDueView(written_before=gone.written_before, reads=gone.reads)
    letters_class = classes.get(DEAD_LETTERS)
    letters_due = None
    if dead_letters is not None and letters_class is not None:
        deletes = apply and letters_class.ends_in is EndsIn.DELETION
        went = (purge_dead_letters if deletes else dead_letters_due)(
            dead_letters, letters_class, moment
        )
        letters_due = DeadLettersDueView(written_before=went.written_before, letters=went.letters)
    watched = {name for watch in watches for name in watch.classes}
    if log_due is not None:
        watched.add(ACCESS_LOG)
    if letters_due is not None:
        watched.add(DEAD_LETTERS)
    summaries = []
    for cls in classes.values():
        count = sum(1 for item in due if item.retention_class == cls.name)
        if cls.name == ACCESS_LOG and log_due is not None:
            count = log_due.reads
        if cls.name == DEAD_LETTERS and letters_due is not None:
            count = letters_due.letters
        summaries.append(
            ClassSummary(
                retention_class=cls.name,
                title=cls.title,
                period=str(cls.period),
                clock=cls.clock,
                ends_in=cls.ends_in,
                source=cls.citation,
                watched=cls.name in watched,
                due=count,
                held=sum(1 for i in every if i.retention_class == cls.name and i.held_by),
            )
        )
    return RetentionReport(
        as_of=business_day(moment),
        applied=apply,
        classes=summaries,
        clients=[
            ClientClassDue(
                client_id=item.client_id,
                retention_class=item.retention_class,
                record=item.record,
                clock_started_on=item.clock_started_on,
                goes_on=item.goes_on,
                held_by=list(item.held_by),
                ends_in=item.ends_in,
                rule=item.rule,
            )
            for item in due
        ],
        access_log=log_due,
        dead_letters=letters_due,
    )
