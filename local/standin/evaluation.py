"""IAM's policy evaluation logic, for identity and resource policies alike.

moto 5.2.5 evaluates identity policies without conditions and resource
policies (bucket policies) without principals or conditions. This module is
the pure part of the stand-in's replacement (`iam.py` is the hook): it takes
policy documents, a principal, an action, a resource and the request's
context keys, and answers as AWS's "Policy evaluation logic" page does for
one account:

- an explicit Deny in any policy wins;
- else an Allow in the identity policies, or in the resource policy naming
  the principal itself, allows (a resource policy naming the account root
  delegates to IAM: it allows nothing alone);
- a KMS key policy is different: it must allow, either the principal itself,
  or the account root and then an identity policy too ("Key policies in AWS
  KMS": without the key policy's say, IAM policies grant nothing);
- else the request is implicitly denied.

Conditions follow the IAM condition operators reference: a negated operator
(`StringNotEquals`, `ArnNotLike`, ...) and any `...IfExists` operator are
true when the key is absent; `Null` tests presence; `ForAnyValue:` and
`ForAllValues:` qualify multi-valued keys; policy variables (`${aws:username}`)
are substituted, and a statement whose variable is missing from the context
does not match. Numeric, date and IP operators are not evaluated: a statement
using one does not apply, and a line says so.
"""

import re
import sys


def _listed(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _substitute(pattern: str, context: dict) -> str | None:
    """Policy variables (`${aws:username}`); None when one is not in the context."""
    missing = False

    def value(m):
        nonlocal missing
        name = m.group(1)
        if name in ("*", "?", "$"):
            return name
        if not isinstance(context.get(name), str):
            missing = True
            return ""
        return context[name]

    text = re.sub(r"\$\{([^}]+)\}", value, pattern)
    return None if missing else text


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _matches_any(patterns, value: str, context: dict, ignore_case=False, variables=True) -> bool:
    for pattern in _listed(patterns):
        if variables:
            pattern = _substitute(pattern, context)
            if pattern is None:
                continue
        if wildcard(pattern, value, ignore_case):
            return True
    return False


NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
COMPARE = {
    "StringEquals": lambda want, got, ctx: want == got,
    "StringEqualsIgnoreCase": lambda want, got, ctx: want.lower() == got.lower(),
    "StringLike": lambda want, got, ctx: _matches_any(want, got, ctx),
    "ArnEquals": lambda want, got, ctx: want == got,
    "ArnLike": lambda want, got, ctx: _matches_any(want, got, ctx),
    "Bool": lambda want, got, ctx: want.lower() == got.lower(),
}
POSITIVE = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed(expected)]
    actual = context.get(key)
    if base == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    if actual is None:
        return if_exists or base in NEGATED
    compare = COMPARE.get(POSITIVE.get(base, base))
    if compare is None:
        log(f"standin: IAM condition operator {operator} is not evaluated here; the statement does not apply")
        return False

    def one(value: str) -> bool:
        hit = any(compare(w, value, context) for w in wanted)
        return not hit if base in NEGATED else hit

    values = _listed(actual)
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _principal_matches(principal_block, principal: dict) -> bool:
    """A statement's `Principal` against the caller: `*`, its ARN (a role for
    an assumed-role session), its account (`123456789012` or `:root`), or
    the service it is (`{"Service": "export.rds.amazonaws.com"}`)."""
    if principal_block == "*":
        return True
    for kind, values in (principal_block or {}).items():
        for value in _listed(values):
            if value == "*":
                return True
            if kind == "AWS" and value in (principal.get("arn"), principal.get("account"), principal.get("account_root")):
                return True
            if kind == "Service" and value == principal.get("service"):
                return True
    return False


def names_principal_itself(principal_block, principal: dict) -> bool:
    """Whether a resource policy names this principal rather than its account
    (which only delegates to the account's IAM policies)."""
    if principal_block == "*":
        return True
    for kind, values in (principal_block or {}).items():
        for value in _listed(values):
            if value == "*" or (kind == "AWS" and value == principal.get("arn")) or (kind == "Service" and value == principal.get("service")):
                return True
    return False


def statement_applies(statement: dict, action: str, resource: str, context: dict, principal: dict | None = None) -> bool:
    if principal is not None:
        if "Principal" in statement and not _principal_matches(statement["Principal"], principal):
            return False
        if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], principal):
            return False
    if "Action" in statement and not _matches_any(statement["Action"], action, context, True, False):
        return False
    if "NotAction" in statement and _matches_any(statement["NotAction"], action, context, True, False):
        return False
    if "Resource" in statement and not _matches_any(statement["Resource"], resource, context):
        return False
    if "NotResource" in statement and _matches_any(statement["NotResource"], resource, context):
        return False
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            if not condition_holds(operator, key, expected, context):
                return False
    return True


def evaluate(documents: list[dict], action: str, resource: str, context: dict) -> str:
    """"Allow", "Deny" (explicit) or "ImplicitDeny", as AWS evaluates identity policies."""
    allowed = False
    for document in documents:
        for statement in _listed(document.get("Statement")):
            if statement_applies(statement, action, resource, context):
                if statement.get("Effect") == "Deny":
                    return "Deny"
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def evaluate_resource(document: dict | None, principal: dict, action: str, resource: str, context: dict) -> tuple[str, str | None]:
    """A resource policy for one principal: ("Deny", sid) for an explicit
    Deny; ("Allow", sid) when a statement names the principal itself;
    ("Delegated", sid) when one allows its account root only; else
    ("ImplicitDeny", None)."""
    outcome, why = "ImplicitDeny", None
    for i, statement in enumerate(_listed((document or {}).get("Statement"))):
        if not statement_applies(statement, action, resource, context, principal):
            continue
        sid = statement.get("Sid") or f"statement {i}"
        if statement.get("Effect") == "Deny":
            return "Deny", sid
        if names_principal_itself(statement.get("Principal"), principal):
            outcome, why = "Allow", sid
        elif outcome != "Allow":
            outcome, why = "Delegated", sid
    return outcome, why


def decide(identity: list[dict], resource_policy: dict | None, principal: dict, action: str, resource: str,
           context: dict, key_policy: bool = False) -> tuple[str, str]:
    """The decision for one request within one account, with the reason AWS
    would give: ("Allow" | "Deny" | "ImplicitDeny", reason).

    `key_policy`: the resource policy is a KMS key policy, which must allow
    (the principal itself, or the account and then IAM)."""
    identity_decision = evaluate(identity, action, resource, context)
    resource_decision, sid = evaluate_resource(resource_policy, principal, action, resource, context)
    kind = "key policy" if key_policy else "resource-based policy"
    if resource_decision == "Deny":
        return "Deny", f"an explicit deny in a {kind} ({sid})"
    if identity_decision == "Deny":
        return "Deny", "an explicit deny in an identity-based policy"
    if key_policy:
        if resource_decision == "Allow":
            return "Allow", f"the key policy ({sid})"
        if resource_decision == "Delegated" and identity_decision == "Allow":
            return "Allow", "an identity-based policy, which the key policy lets decide"
        if identity_decision == "Allow":
            return "ImplicitDeny", "no statement of the key policy allows the principal or lets IAM policies decide"
        return "ImplicitDeny", "no identity-based policy allows the action"
    if identity_decision == "Allow" or resource_decision == "Allow":
        return "Allow", "allowed"
    return "ImplicitDeny", "no identity-based policy allows the action"
