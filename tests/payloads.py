"""Realistic payloads per lead source, built from each vendor's documented shape, with their quirks."""

from __future__ import annotations

import json

# A source per preset, as the preset and bad-input tests configure them.
PRESET_SOURCES = """
[sources.typeform]
preset = "typeform"
auth = "none"
tag_fields = ["plan", "interests"]
[sources.typeform.custom_fields]
"Email" = "email"
"Team size" = "team_size"
"Newsletter" = "newsletter"
"UTM source" = "hidden.utm_source"

[sources.google]
preset = "google_ads"
auth = "none"
[sources.google.custom_fields]
"Email" = "email"
"Budget" = "budget_question"

[sources.google_tagged]
preset = "google_ads"
auth = "none"
test_leads = "tag"

[sources.google_delivered]
preset = "google_ads"
auth = "none"
test_leads = "deliver"

[sources.webflow]
preset = "webflow"
auth = "none"
[sources.webflow.custom_fields]
"Email" = "email"

[sources.tally]
preset = "tally"
auth = "none"
tag_fields = ["Product"]
[sources.tally.custom_fields]
"UTM source" = "utm_source"

[sources.unbounce]
preset = "unbounce"
auth = "none"
[sources.unbounce.custom_fields]
"Interest" = "interest"
"Page" = "page_url"

[sources.elementor]
preset = "elementor"
auth = "none"
[sources.elementor.custom_fields]
"Email" = "email"

[sources.jotform]
preset = "jotform"
auth = "none"
[sources.jotform.custom_fields]
"Message" = "message"

[sources.cf7]
preset = "cf7"
auth = "none"
[sources.cf7.custom_fields]
"Subject" = "your-subject"

[sources.gravity]
preset = "gravity_forms"
auth = "none"
[sources.gravity.custom_fields]
"Email" = "email"
"Product" = "4"

[sources.hubspot]
preset = "hubspot"
auth = "none"
[sources.hubspot.custom_fields]
"Company" = "company"
"""


def typeform(event_id: str = "01HX-typeform-event") -> dict:
    return {
        "event_id": event_id,
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": "a3a12ec67a1365927098a606107fac15",
            "submitted_at": "2026-11-20T10:00:00Z",
            "hidden": {"utm_source": "newsletter", "utm_campaign": "winter"},
            "definition": {
                "id": "lT4Z3j",
                "title": "Lead form",
                "fields": [
                    {
                        "id": "DlXFaesGBpoF",
                        "title": "What is your name?",
                        "type": "short_text",
                        "ref": "full_name",
                    },
                    {"id": "SMEUb7VJz92Q", "title": "Email", "type": "email", "ref": "email_ref"},
                    {"id": "JwWggjAKtOkA", "title": "Phone", "type": "phone_number", "ref": "phone_ref"},
                    {"id": "k6TP9oLGgHjl", "title": "Which plan?", "type": "multiple_choice", "ref": "plan"},
                    {
                        "id": "PNe8ZKBK8C2Q",
                        "title": "Interests",
                        "type": "multiple_choice",
                        "ref": "interests",
                    },
                    {"id": "Q7M2gHtfWI0C", "title": "Team size", "type": "number", "ref": "team_size"},
                    {"id": "gFFf3xAkJKsr", "title": "Newsletter?", "type": "yes_no", "ref": "newsletter"},
                ],
            },
            "answers": [
                {
                    "type": "text",
                    "text": "Ada Lovelace",
                    "field": {"id": "DlXFaesGBpoF", "type": "short_text", "ref": "full_name"},
                },
                {
                    "type": "email",
                    "email": "ada@example.com",
                    "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "email_ref"},
                },
                {
                    "type": "phone_number",
                    "phone_number": "+14155550100",
                    "field": {"id": "JwWggjAKtOkA", "type": "phone_number", "ref": "phone_ref"},
                },
                {
                    "type": "choice",
                    "choice": {"id": "x1", "label": "Pro", "ref": "pro"},
                    "field": {"id": "k6TP9oLGgHjl", "type": "multiple_choice", "ref": "plan"},
                },
                {
                    "type": "choices",
                    "choices": {"ids": ["a", "b"], "labels": ["Sales", "Support"]},
                    "field": {"id": "PNe8ZKBK8C2Q", "type": "multiple_choice", "ref": "interests"},
                },
                {
                    "type": "number",
                    "number": 42,
                    "field": {"id": "Q7M2gHtfWI0C", "type": "number", "ref": "team_size"},
                },
                {
                    "type": "boolean",
                    "boolean": True,
                    "field": {"id": "gFFf3xAkJKsr", "type": "yes_no", "ref": "newsletter"},
                },
            ],
        },
    }


def google_ads(
    lead_id: str = "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    is_test: bool = False,
    key: str = "google-form-key",
) -> dict:
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 40000000,
        "campaign_id": 12345678,
        "google_key": key,
        "is_test": is_test,
        "gcl_id": "gcl-abc",
        "adgroup_id": 20000000,
        "creative_id": 30000000,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Grace Hopper", "column_id": "FULL_NAME"},
            {"column_name": "User Phone", "string_value": "+1 (510) 555-0123", "column_id": "PHONE_NUMBER"},
            {"column_name": "User Email", "string_value": "grace@example.com", "column_id": "EMAIL"},
            {"column_name": "Postal Code", "string_value": "94043", "column_id": "POSTAL_CODE"},
            {"column_name": "What is your budget?", "string_value": "10k", "column_id": "budget_question"},
        ],
    }


def meta_notification(*leadgen_ids: str) -> dict:
    return {
        "object": "page",
        "entry": [
            {
                "id": "153125381133",
                "time": 1732600000,
                "changes": [
                    {
                        "field": "leadgen",
                        "value": {
                            "leadgen_id": lid,
                            "form_id": "444444",
                            "page_id": "153125381133",
                            "created_time": 1732600000,
                        },
                    }
                    for lid in leadgen_ids
                ],
            }
        ],
    }


def meta_graph_lead(leadgen_id: str, phone: str = "+14155550177") -> dict:
    return {
        "id": leadgen_id,
        "created_time": "2026-11-20T10:00:00+0000",
        "form_id": "444444",
        "field_data": [
            {"name": "full_name", "values": ["Katherine Johnson"]},
            {"name": "phone_number", "values": [phone]},
            {"name": "email", "values": ["kj@example.com"]},
            {"name": "which_service?", "values": ["Orbital"]},
        ],
    }


def webflow(submission_id: str = "6321ca84df3949bfc6752327") -> dict:
    # The phone arrives as a JSON number; labels are whatever the site author typed.
    return {
        "triggerType": "form_submission",
        "payload": {
            "name": "Contact Us",
            "siteId": "62749158efef318abc8d5a0f",
            "formId": "6321ca84df3949bfc6752325",
            "submittedAt": "2026-11-20T10:00:00.000Z",
            "id": submission_id,
            "data": {
                "First Name": "Dorothy",
                "Last Name": "Vaughan",
                "Phone Number": 14155550155,
                "Email": "dv@example.com",
                "Message": "Call me after 5",
            },
        },
    }


def tally(event_id: str = "a4cb511e-d513-4fa5-baee-b815d718dfd1") -> dict:
    return {
        "eventId": event_id,
        "eventType": "FORM_RESPONSE",
        "createdAt": "2026-11-20T10:00:00.000Z",
        "data": {
            "responseId": "2wgx4n",
            "submissionId": "2wgx4n",
            "formId": "VwbNEw",
            "formName": "Leads",
            "fields": [
                {
                    "key": "question_3EKz4n",
                    "label": "Your name",
                    "type": "INPUT_TEXT",
                    "value": "Mary Jackson",
                },
                {
                    "key": "question_w4Q4Xn",
                    "label": "Contact number",
                    "type": "INPUT_PHONE_NUMBER",
                    "value": "+14155550166",
                },
                {
                    "key": "question_mR7qEv",
                    "label": "Email",
                    "type": "INPUT_EMAIL",
                    "value": "mj@example.com",
                },
                {
                    "key": "question_nPNjZv",
                    "label": "Product",
                    "type": "MULTIPLE_CHOICE",
                    "value": ["5c6a0f9e"],
                    "options": [
                        {"id": "5c6a0f9e", "text": "Wind tunnel"},
                        {"id": "0f1e2d3c", "text": "Rocket"},
                    ],
                },
                {"key": "question_3jXoqP", "label": "utm_source", "type": "HIDDEN_FIELDS", "value": "ads"},
            ],
        },
    }


def unbounce() -> dict:
    data = {
        "name": ["Annie Easley"],
        "phone_number": ["(415) 555-0188"],
        "email": ["ae@example.com"],
        "interest": ["Energy", "Batteries"],
        "ip_address": ["203.0.113.9"],
    }
    return {
        "page_id": "8a7b6c",
        "page_url": "https://example.com/lp",
        "variant": "a",
        "data.json": json.dumps(data),
        "data.xml": "<xml/>",
    }


def elementor_advanced() -> dict:
    return {
        "form[id]": "a1b2c3",
        "form[name]": "Quote",
        "fields[name][id]": "name",
        "fields[name][type]": "text",
        "fields[name][title]": "Name",
        "fields[name][value]": "Christine Darden",
        "fields[field_1][id]": "field_1",
        "fields[field_1][type]": "tel",
        "fields[field_1][title]": "Mobile",
        "fields[field_1][value]": "+1 415 555 0199",
        "fields[email][id]": "email",
        "fields[email][type]": "email",
        "fields[email][title]": "Email",
        "fields[email][value]": "cd@example.com",
        "meta[date][title]": "Date",
        "meta[date][value]": "November 20, 2026",
    }


def elementor_simple() -> dict:
    return {"Name": "Christine Darden", "Phone": "+1 415 555 0199", "Email": "cd@example.com"}


def jotform(submission_id: str = "5712345678901234567") -> dict:
    raw = {
        "slug": "submit/231234567890",
        "q3_fullName": {"first": "Evelyn", "last": "Boyd"},
        "q4_phoneNumber": {"full": "(415) 555-0111"},
        "q5_email": "eb@example.com",
        "q6_message": "Interested in a demo",
    }
    return {
        "formID": "231234567890",
        "submissionID": submission_id,
        "formTitle": "Demo request",
        "rawRequest": json.dumps(raw),
        "pretty": "Full Name:Evelyn Boyd, Phone Number:(415) 555-0111",
    }


def cf7() -> dict:
    return {
        "your-name": "Melba Mouton",
        "your-email": "mm@example.com",
        "your-tel": "415-555-0122",
        "your-subject": "Pricing",
        "your-message": "Hello",
        "_wpcf7": "42",
    }


def gravity_forms() -> dict:
    return {
        "id": "118",
        "form_id": "3",
        "date_created": "2026-11-20 10:00:00",
        "source_url": "https://example.com",
        "1.3": "Gladys",
        "1.6": "West",
        "2": "gw@example.com",
        "3": "(415) 555-0133",
        "4": "GPS",
        "5": "",
    }


def hubspot() -> dict:
    return {
        "vid": 1234,
        "properties": {
            "firstname": {"value": "Hedy"},
            "lastname": {"value": "Lamarr"},
            "mobilephone": {"value": "+1 415 555 0144"},
            "email": {"value": "hl@example.com"},
            "company": {"value": "Inventions"},
        },
    }
