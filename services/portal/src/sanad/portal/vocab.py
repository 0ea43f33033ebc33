"""The words for the codes the services answer (statuses, regions, relationships …): English
msgids, translated in the catalogs; ``label(group, code)`` gives the page's wording."""

from __future__ import annotations

from sanad.portal.i18n import N_, gettext

VOCABULARY: dict[str, dict[str, str]] = {
    "marital_status": {
        "single": N_("Single"),
        "married": N_("Married"),
        "divorced": N_("Divorced"),
        "widowed": N_("Widowed"),
    },
    "disability_type": {
        "physical": N_("Physical"),
        "visual": N_("Visual"),
        "hearing": N_("Hearing"),
        "intellectual": N_("Intellectual"),
        "psychological": N_("Psychological"),
        "multiple": N_("Multiple"),
        "other": N_("Other"),
    },
    "region": {
        "riyadh": N_("Riyadh"),
        "makkah": N_("Makkah"),
        "madinah": N_("Madinah"),
        "eastern": N_("Eastern Province"),
        "qassim": N_("Qassim"),
        "asir": N_("Asir"),
        "tabuk": N_("Tabuk"),
        "hail": N_("Hail"),
        "northern_borders": N_("Northern Borders"),
        "jazan": N_("Jazan"),
        "najran": N_("Najran"),
        "al_bahah": N_("Al Bahah"),
        "al_jawf": N_("Al Jawf"),
    },
    "housing_type": {
        "owned": N_("Owned"),
        "rented": N_("Rented"),
        "provided": N_("Provided"),
        "other": N_("Other"),
    },
    "income_type": {
        "salary": N_("Salary"),
        "pension": N_("Pension"),
        "private_business": N_("Private business"),
        "social_insurance": N_("Social insurance"),
        "other": N_("Other"),
    },
    "education_level": {
        "none": N_("None"),
        "primary": N_("Primary"),
        "intermediate": N_("Intermediate"),
        "secondary": N_("Secondary"),
        "diploma": N_("Diploma"),
        "bachelor": N_("Bachelor's degree"),
        "master": N_("Master's degree"),
        "doctorate": N_("Doctorate"),
    },
    "employment_status": {
        "employed": N_("Employed"),
        "unemployed": N_("Unemployed"),
        "student": N_("Student"),
        "retired": N_("Retired"),
        "unable_to_work": N_("Unable to work"),
    },
    "license_kind": {
        "commercial_registration": N_("Commercial registration"),
        "professional_license": N_("Professional license"),
    },
    "asset_kind": {
        "real_estate": N_("Real estate"),
        "vehicle": N_("Vehicle"),
        "other": N_("Other"),
    },
    "relationship": {
        "spouse": N_("Spouse"),
        "son": N_("Son"),
        "daughter": N_("Daughter"),
        "father": N_("Father"),
        "mother": N_("Mother"),
    },
    "sex": {"M": N_("Male"), "F": N_("Female")},
    "yes_no": {"true": N_("Yes"), "false": N_("No")},
    "section": {
        "personal": N_("Personal details"),
        "housing": N_("Housing"),
        "income": N_("Income"),
        "education": N_("Education"),
        "employment": N_("Employment"),
        "licenses": N_("Licenses"),
        "property": N_("Property"),
        "dependents": N_("Dependents"),
    },
    "status": {
        "DRAFT": N_("Draft"),
        "SUBMITTED": N_("Submitted"),
        "UNDER_EVALUATION": N_("Under evaluation"),
        "APPROVED": N_("Approved"),
        "REJECTED": N_("Rejected"),
        "NEEDS_COMPLETION": N_("Needs completion"),
        "UNDER_REVIEW": N_("Under review"),
        "APPEALED": N_("Appealed"),
    },
    "outcome": {
        "eligible": N_("Eligible"),
        "ineligible": N_("Not eligible"),
        "incomplete": N_("Information missing"),
        "review": N_("Needs a caseworker's review"),
    },
    "criterion_status": {
        "passed": N_("Met"),
        "failed": N_("Not met"),
        "missing": N_("Unknown"),
        "not_applicable": N_("Not applicable"),
    },
    "role": {
        "citizen": N_("Citizen"),
        "caseworker": N_("Caseworker"),
        "eligibility": N_("Eligibility rules"),
        "system": N_("System"),
        "auto": N_("Automatic"),
        "admin": N_("Administrator"),
    },
    "payment_method": {"iban": N_("Bank account (IBAN)"), "card": N_("Payment card")},
    "card_status": {"active": N_("Active"), "suspended": N_("Suspended"), "revoked": N_("Revoked")},
    "channel": {"sms": N_("SMS"), "email": N_("Email")},
    "delivery_status": {
        "pending": N_("Waiting"),
        "sending": N_("Sending"),
        "sent": N_("Sent"),
        "failed": N_("Failed"),
    },
    "template": {
        "otp": N_("Verification code"),
        "registration_attempted": N_("Registration attempt"),
        "decision_approved": N_("Application approved"),
        "decision_rejected": N_("Application rejected"),
        "decision_needs_completion": N_("Application needs completion"),
        "decision_under_review": N_("Application under review"),
        "card_issued": N_("Card issued"),
    },
}


def label(group: str, code: object) -> str:
    if code is None:
        return ""
    text = VOCABULARY.get(group, {}).get(str(code).lower() if group == "yes_no" else str(code))
    return gettext(text) if text else str(code)


def options(group: str) -> list[tuple[str, str]]:
    return [(code, gettext(text)) for code, text in VOCABULARY[group].items()]
