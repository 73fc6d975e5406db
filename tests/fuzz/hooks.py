"""Checks of our own for scripts/fuzz.sh (loaded through SCHEMATHESIS_HOOKS)."""

import json

import schemathesis

# Codes our services answer when a value breaks a rule (microshop-web's extractors and
# ValidationError): a schema-valid request must never get one of them, or the document does not
# state a rule the service enforces.
RULE_CODES = {"validation_failed", "invalid_body", "invalid_query", "invalid_path", "malformed_json"}


@schemathesis.check
def refused_for_a_rule_the_schema_does_not_state(ctx, response, case):
    """A schema-valid request refused with a rule's error code: the schema is looser than the rule."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    if code in RULE_CODES:
        raise AssertionError(
            f"a schema-valid request was refused with {response.status_code} {code}: "
            "the OpenAPI document does not state this rule"
        )
    return None
