"""Article 001's maturity self-assessment (DOMAIN §10): five levels of managing relationships
with regular customers, on sixteen parameters. The keys are the contract between the
questionnaire, the answers files (`parameter = level`), the store and the catalogue."""

from __future__ import annotations

# The sixteen parameters, in the article's table's order.
PARAMETERS: tuple[str, ...] = (
    "goal_setting", "architecture", "result", "quality", "interaction", "relationships",
    "team", "culture", "competencies", "potential", "motivation", "personal_effectiveness",
    "stakeholders", "positioning", "product", "reputation",
)

# The five levels, 1..5, and their names.
LEVELS: dict[int, str] = {1: "chaos", 2: "tradition", 3: "standards", 4: "goals", 5: "innovation"}
