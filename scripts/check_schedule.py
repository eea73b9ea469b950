"""Checks every schedule snaplake ships (the module's default and the example
tfvars): the EventBridge Scheduler cron expression field by field, and the
IANA time zone. Exits non-zero naming the file, the value and the rule."""

import re
import sys
import zoneinfo
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
FIELD = {
    "minutes": r"(\*|[0-5]?\d)([-/,][0-5]?\d)*",
    "hours": r"(\*|[01]?\d|2[0-3])([-/,]([01]?\d|2[0-3]))*",
    "day-of-month": r"(\*|\?|L|W|[1-9]W?|[12]\dW?|3[01]W?)([-/,]([1-9]|[12]\d|3[01]))*",
    "month": r"(\*|[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)([-/,]([1-9]|1[0-2]|[A-Z]{3}))*",
    "day-of-week": r"(\*|\?|L|[1-7](L|#[1-5])?|SUN|MON|TUE|WED|THU|FRI|SAT)([-/,]([1-7]|[A-Z]{3}))*",
    "year": r"(\*|(19[7-9]\d|2\d{3}))([-/,](19[7-9]\d|2\d{3}))*",
}


def check_cron(expr: str) -> str | None:
    m = re.fullmatch(r"cron\((.*)\)", expr)
    if not m:
        return "must be cron(minutes hours day-of-month month day-of-week year)" if not expr.startswith("rate(") else None
    fields = m.group(1).split()
    if len(fields) != 6:
        return f"has {len(fields)} fields, EventBridge cron has 6"
    for (name, pattern), value in zip(FIELD.items(), fields):
        if not re.fullmatch(pattern, value):
            return f"field {name} = {value!r} is not valid"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def found() -> list[tuple[str, str, str]]:
    """(file, cron, zone) for every schedule in the shipped Terraform."""
    out = []
    variables = (TOP / "infra/modules/snaplake/variables.tf").read_text()
    cron = re.search(r'variable "schedule_expression".*?default\s*=\s*"([^"]+)"', variables, re.S).group(1)
    zone = re.search(r'variable "schedule_time_zone".*?default\s*=\s*"([^"]+)"', variables, re.S).group(1)
    out.append(("infra/modules/snaplake/variables.tf", cron, zone))
    for tfvars in sorted((TOP / "infra").rglob("*.tfvars")):
        text = tfvars.read_text()
        c = re.search(r'schedule_expression\s*=\s*"([^"]+)"', text)
        z = re.search(r'schedule_time_zone\s*=\s*"([^"]+)"', text)
        out.append((str(tfvars.relative_to(TOP)), c.group(1) if c else cron, z.group(1) if z else zone))
    return out


def main() -> int:
    problems = []
    for file, cron, zone in found():
        why = check_cron(cron)
        if why:
            problems.append(f"{file}: schedule_expression {cron!r} {why}")
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(f"{file}: schedule_time_zone {zone!r} is not an IANA time zone")
    # The checker itself must be able to fail.
    assert check_cron("cron(0 4 * * ? *)") is None and check_cron("cron(0 25 * * ? *)") and check_cron("cron(0 4 * * *)")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"schedules: {len(found())} checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
