"""Compliance audit: compare what was done (action events) with what a ruleset required.

`audit_incident` decides one incident and checks every obligation in force against the incident's
actions (recording_started/stopped, notice_given, footage_viewed, footage_released,
footage_deleted, biometric_analysis_run), giving one `Finding` per obligation and check, plus a
`not_applicable` finding for each checkable rule that did not apply. `run_audit` streams a whole
export (engine.io.export), spreads the incidents over processes in chunks, tallies the findings and
writes the report folder atomically. The checks and their meaning are in docs/audit.md.

As of: an explicit time (the same for every incident), or, by default, each incident's own last
event — an incident is then judged on what its export says had happened by then.

The package, by job: `findings` (the record, severities, check names), `checks/` (one module per
family of checks, and which checks an obligation gets), `auditor` (one incident), `tally` (counts
and the summary), `runner` (a whole export over the executor), `report` (the report folder).
"""

from __future__ import annotations

from engine.audit.auditor import Auditor, audit_incident
from engine.audit.checks import checks_for
from engine.audit.checks.access import AGENCY_ROLES
from engine.audit.checks.recording import GRACE_SECONDS
from engine.audit.findings import CHECKS, SEVERITIES, Finding, FindingSeverity, IncidentAudit, RuleChecks
from engine.audit.report import write_report_folder
from engine.audit.runner import AuditOutcome, record_error, run_audit
from engine.audit.tally import build_summary
from engine.io.export import ExportError

__all__ = ["AGENCY_ROLES", "CHECKS", "GRACE_SECONDS", "SEVERITIES", "AuditOutcome", "Auditor", "ExportError",
           "Finding", "FindingSeverity", "IncidentAudit", "RuleChecks", "audit_incident", "build_summary", "checks_for",
           "record_error", "run_audit", "write_report_folder"]
