#!/usr/bin/env python3
"""Build the ``office-docs`` eval corpus and check its suites against it.

The corpus is the paperwork of a fictional engineering consultancy, Fellbrook
Engineering Ltd, written for this project (Apache-2.0, like the repository):
Word minutes, PowerPoint decks, an Excel workbook, CSV/TSV exports, OpenDocument
policies, an EPUB handbook, e-mails (two with attachments) and two scans with no
text layer. Every text is in this file; running it again writes byte-identical
files (fixed dates, ids, zip timestamps and MIME boundaries).

    python evals/corpora/make_office_docs.py                 # (re)build evals/corpora/office-docs/
    python evals/corpora/make_office_docs.py --check evals/office-docs.yaml evals/office-docs-heldout.yaml [--hints]

``--check`` reads the generated files back with the same libraries (and the
scans with Tesseract, as OCR would), independently of the project's loaders,
and checks that every expected fact is stated in a file its case names, that
every named file exists, and that the tell-tale words of each refusal case are
absent from the whole corpus. ``--hints`` also lists unnamed files holding all
of a case's facts.

Needs (only to build or check, not at run time): python-docx, python-pptx,
openpyxl, odfpy, ebooklib, pillow, pyyaml; the Liberation Serif fonts (Debian
fonts-liberation) for the scans; for ``--check`` of the scans, tesseract-ocr and
poppler-utils (pdftoppm).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import email
import email.policy
import io
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "office-docs"
REPO = HERE.parents[1]

FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
UK = dt.timezone(dt.timedelta(hours=1))  # BST for the spring/summer mails
GMT = dt.timezone.utc
DOMAIN = "fellbrook.example"

# --------------------------------------------------------------------------------------------------
# Content. Blocks: ("title"|"h1"|"h2"|"p"|"bullet"|"number", text) or ("table", header, rows).
# --------------------------------------------------------------------------------------------------

MINUTES_MARCH = [
    ("title", "Fellbrook Engineering Ltd — Board Meeting Minutes"),
    ("p", "Date: Thursday 12 March 2026, 10:00–12:40"),
    ("p", "Venue: Kiln Room, Carrow head office, 14 Tannery Row, Carrow"),
    ("h1", "Attendance"),
    ("p", "Present:"),
    ("bullet", "Margaret Ellery (Chair)"),
    ("bullet", "Helen Marsh (Managing Director)"),
    ("bullet", "Priya Natarajan (Finance Director)"),
    ("bullet", "Gareth Llewellyn (Operations Director)"),
    ("bullet", "Dr Amara Osei (Head of Structures)"),
    ("p", "In attendance: Lucy Adebayo (Company Secretary, minutes)"),
    ("p", "Apologies: Colin Baptiste (Head of Civils)"),
    ("h1", "1. Minutes of the previous meeting"),
    ("p", "The minutes of the meeting held on 22 January 2026 were approved as a true record."),
    ("h1", "2. Financial report"),
    ("p", "Priya Natarajan presented the unaudited results for the year ended 31 December 2025 (FY2025):"),
    ("bullet", "Revenue £8.94M, up from £8.21M in FY2024."),
    ("bullet", "Operating margin 9.6%."),
    ("bullet", "Q4 2025 revenue £2.31M."),
    ("bullet", "Cash at bank £1.42M at 28 February 2026."),
    ("bullet", "Debtor days 47 against a target of 40. The Board asked for a plan to bring this down by the "
               "June meeting."),
    ("h1", "3. Budget for FY2026"),
    ("p", "The Board approved the FY2026 operating budget as set out in the budget workbook (version 4, "
          "2 March 2026), with a revenue target of £9.4M and staff costs of £5.61M. The FY2027 figures in the "
          "workbook are an early draft and were not discussed."),
    ("h1", "4. Capital expenditure"),
    ("p", "The Board approved the 2026 capital expenditure plan of £119,000, including a second survey drone "
          "(Skylark M4) at a cost of up to £18,500. The ground-penetrating radar unit (£41,000) was deferred "
          "to FY2027."),
    ("h1", "5. Travel and Expenses Policy, version 3"),
    ("p", "The Board adopted version 3.0 of the Travel and Expenses Policy with effect from 1 April 2026. "
          "The main changes from version 2.1 are:"),
    ("number", "The mileage rate for the first 10,000 business miles rises from 45p to 48p per mile."),
    ("number", "The hotel limit in London rises from £140 to £160 per night; elsewhere in the UK from £95 to £110."),
    ("number", "Claims must be submitted within 60 days instead of 90 days."),
    ("number", "Line managers may approve claims up to £500 (previously £250)."),
    ("h1", "6. Ostley Viaduct claim"),
    ("p", "Helen Marsh reported that Carrow County Council has agreed in principle to settle the Ostley Viaduct "
          "fee claim for £85,000, payable by the end of March. The Board accepted the settlement."),
    ("h1", "7. Wendham office lease"),
    ("p", "The Board approved renewing the Wendham office lease for five years from 1 July 2026 at £38,000 a "
          "year (currently £34,500)."),
    ("h1", "8. Four-day week"),
    ("p", "Discussion of a four-day week pilot was deferred to the June meeting. Helen Marsh will bring a "
          "proposal."),
    ("h1", "9. Actions"),
    ("table", ["No.", "Action", "Owner", "Due"], [
        ["1", "Circulate version 3.0 of the Travel and Expenses Policy to all staff", "Joanne Pike", "20 March 2026"],
        ["2", "Obtain three quotes for the survey drone", "Gareth Llewellyn", "3 April 2026"],
        ["3", "Renew professional indemnity insurance (limit £5M)", "Priya Natarajan", "30 April 2026"],
        ["4", "Sign the Wendham lease renewal", "Helen Marsh", "30 May 2026"],
        ["5", "Draft a four-day week pilot proposal", "Helen Marsh", "5 June 2026"],
    ]),
    ("p", "Next meeting: Thursday 18 June 2026, 14:00, at the Wendham office."),
]

MINUTES_JUNE = [
    ("title", "Fellbrook Engineering Ltd — Board Meeting Minutes"),
    ("p", "Date: Thursday 18 June 2026, 14:00–16:15"),
    ("p", "Venue: Wendham office, 3 Cooper's Yard, Wendham (Pellbridge and Eastmere colleagues joined by video)"),
    ("h1", "Attendance"),
    ("p", "Present:"),
    ("bullet", "Margaret Ellery (Chair)"),
    ("bullet", "Helen Marsh (Managing Director)"),
    ("bullet", "Priya Natarajan (Finance Director)"),
    ("bullet", "Colin Baptiste (Head of Civils)"),
    ("bullet", "Yusuf Demir (West Office Lead, for item 5)"),
    ("p", "In attendance: Lucy Adebayo (Company Secretary, minutes); Joanne Pike (HR and Office Manager, "
          "for item 4)"),
    ("p", "Apologies: Gareth Llewellyn (Operations Director); Dr Amara Osei (Head of Structures)"),
    ("h1", "1. Minutes of the previous meeting"),
    ("p", "The minutes of the meeting held on 12 March 2026 were approved."),
    ("h1", "2. Q1 2026 results and trading"),
    ("bullet", "Q1 2026 revenue £2.18M, 9.8% above Q1 2025 (£1.985M)."),
    ("bullet", "Billable utilisation 74% in Q1 against a target of 78%; May was 76%."),
    ("bullet", "Order book £6.4M at 31 March 2026."),
    ("bullet", "Debtor days down to 43."),
    ("h1", "3. Ostley Viaduct"),
    ("p", "The £85,000 settlement was received on 27 March 2026. A 7.5 tonne weight restriction has been in "
          "place on the viaduct since 9 April 2026. The bearing replacement design is due in August."),
    ("h1", "4. Four-day week pilot"),
    ("p", "Joanne Pike presented the proposal. The Board approved a six-month pilot in the East office "
          "(Eastmere) from 1 September 2026 to 28 February 2027:"),
    ("bullet", "9 staff will work 32 hours over four days with no loss of pay."),
    ("bullet", "The office will be closed to visitors on Fridays; its phones divert to Carrow."),
    ("bullet", "Success measures: billable utilisation of at least 76% and no fall in client satisfaction scores."),
    ("bullet", "The Board will review the results at its March 2027 meeting."),
    ("h1", "5. West office"),
    ("p", "Yusuf Demir reported that the stage 4 design for the Wendham Academy extension was issued on "
          "29 May 2026. The Board approved two graduate engineer posts for the West office, starting in "
          "September 2026 on a salary of £31,500."),
    ("h1", "6. Equipment"),
    ("p", "The Skylark M4 survey drone was bought on 2 June 2026 for £17,240 from Aerotec Survey Supplies, "
          "within the £18,500 approved in March. The old Skylark M2 will be retired. Two staff will take the "
          "CAA General VLOS Certificate before flying it."),
    ("h1", "7. Any other business"),
    ("bullet", "The Carrow office closure on 29 May for electrical testing went ahead without problems."),
    ("bullet", "The 2026 staff survey had a response rate of 81%; results will be shared at the July all-staff "
               "briefing."),
    ("h1", "8. Actions"),
    ("table", ["No.", "Action", "Owner", "Due"], [
        ["1", "Publish four-day week pilot guidance for East office staff", "Joanne Pike", "31 July 2026"],
        ["2", "Advertise the two West graduate posts", "Yusuf Demir", "10 July 2026"],
        ["3", "Report on Q2 utilisation and debtor days", "Priya Natarajan", "17 September 2026"],
        ["4", "Book GVC training for two drone pilots", "Gareth Llewellyn", "31 July 2026"],
    ]),
    ("p", "Next meeting: Thursday 17 September 2026, 10:00, at Carrow head office."),
]

DESIGN_BASIS = [
    ("title", "Northgate Footbridge Replacement — Design Basis Statement"),
    ("p", "Project: FE-2337, for Carrow County Council"),
    ("p", "Revision C, 19 January 2026. Prepared by Colin Baptiste; checked by Dr Amara Osei."),
    ("h1", "1. Introduction"),
    ("p", "The Northgate footbridge carries a footpath and cycle route over the River Tarne in Northgate, Carrow. "
          "The existing reinforced concrete bridge, built in 1968, was closed in October 2025 after an inspection "
          "found severe section loss in its main beams. This statement records the basis of design for a "
          "replacement bridge on the same alignment."),
    ("h1", "2. Design criteria"),
    ("table", ["Parameter", "Value"], [
        ["Span", "42 m (single span)"],
        ["Clear deck width", "3.5 m"],
        ["Design working life", "120 years"],
        ["Pedestrian and cycle load", "5 kN/m²"],
        ["Parapet height", "1.4 m (cycle route)"],
        ["Headroom over normal water level", "3.2 m"],
        ["Main material", "Weathering steel, grade S355J2W"],
        ["Check category", "Category 2"],
    ]),
    ("h1", "3. Definitions"),
    ("h2", "Approval in Principle (AIP)"),
    ("p", "The document agreed with the Technical Approval Authority (the Carrow County Council structures team) "
          "that records the design basis before detailed design begins."),
    ("h2", "Design working life"),
    ("p", "The period for which the structure is to be used for its intended purpose with anticipated "
          "maintenance but without major repair."),
    ("h2", "Category 2 check"),
    ("p", "An independent check of the design carried out by a separate team in the same organisation, which "
          "did not take part in the design."),
    ("h1", "4. Programme"),
    ("bullet", "AIP submitted: 19 January 2026"),
    ("bullet", "Planning approval: 2 April 2026"),
    ("bullet", "Detailed design complete: 31 July 2026"),
    ("bullet", "Construction: February to June 2027, with the route closed and a signed diversion of 600 m via "
               "Ferry Street"),
    ("h1", "5. Assumptions and risks"),
    ("bullet", "The new abutments are founded on bored piles; ground investigation is still to confirm pile "
               "lengths."),
    ("bullet", "No work in the river between October and March, to protect migrating salmon."),
    ("bullet", "Utilities: a 150 mm water main crosses the north approach and must stay live."),
    ("h1", "6. Revision history"),
    ("table", ["Rev", "Date", "Change"], [
        ["A", "10 November 2025", "First issue"],
        ["B", "8 December 2025", "Headroom raised from 2.9 m to 3.2 m after consultation with the Tarne Rivers Trust"],
        ["C", "19 January 2026", "Issued for Approval in Principle"],
    ]),
]

FEE_PROPOSAL = [
    ("title", "Pellbridge Quay Wall Repair — Fee Proposal (Revision B)"),
    ("p", "Client: Pellbridge Harbour Trust"),
    ("p", "Our reference: FE-2304/FP/B"),
    ("p", "Date: 19 May 2026"),
    ("p", "Prepared by: Fiona Achterberg, South Office Lead"),
    ("h1", "1. Scope"),
    ("p", "Fellbrook Engineering will investigate and design the repair of the 180 m long masonry quay wall at "
          "Pellbridge Quay, where a 35 m length has bulged and settled, and will support the Trust through "
          "construction. The proposed repair is a steel sheet-pile wall driven in front of the existing masonry, "
          "with a reinforced concrete capping beam."),
    ("h1", "2. Fee by stage"),
    ("table", ["Stage", "Description", "Fee (£)"], [
        ["1", "Condition survey and dive inspection", "14,200"],
        ["2", "Outline design of sheet-pile wall", "22,600"],
        ["3", "Detailed design and drawings", "31,400"],
        ["4", "Construction-stage support and site supervision", "18,900"],
        ["5", "Post-construction monitoring (12 months)", "9,750"],
        ["", "Total", "96,850"],
    ]),
    ("h1", "3. Programme"),
    ("p", "We can start within two weeks of instruction. Stages 1 to 3 will take 26 weeks from instruction; "
          "stage 4 follows the contractor's programme."),
    ("h1", "4. Day rates for additional work"),
    ("table", ["Grade", "Day rate (£)"], [
        ["Director", "980"], ["Associate", "760"], ["Senior engineer", "640"], ["Engineer", "520"],
        ["Technician", "430"],
    ]),
    ("h1", "5. Assumptions"),
    ("bullet", "Fees exclude VAT."),
    ("bullet", "This proposal is valid for 90 days from the date above."),
    ("bullet", "The dive inspection will be subcontracted to Greywater Diving Services; their fee is included "
               "in stage 1."),
    ("bullet", "The Trust will provide tide tables and access to the quay at low water."),
    ("bullet", "Monitoring in stage 5 consists of four quarterly surveys of wall movement."),
    ("h1", "6. Revision history"),
    ("table", ["Rev", "Date", "Change", "Total fee (£)"], [
        ["A", "24 April 2026", "First issue", "87,100"],
        ["B", "19 May 2026", "Added stage 5, post-construction monitoring, as requested at the meeting on "
                             "14 May 2026", "96,850"],
    ]),
]

_POLICY_V3 = [
    ("title", "Travel and Expenses Policy"),
    ("p", "Fellbrook Engineering Ltd — Version 3.0 — Effective 1 April 2026"),
    ("h1", "1. Purpose"),
    ("p", "This policy sets out how staff book business travel and claim back expenses. It replaces version 2.1 "
          "(July 2023)."),
    ("h1", "2. Scope"),
    ("p", "It applies to all employees, and to contractors where their contract says so."),
    ("h1", "3. Booking travel"),
    ("bullet", "Book rail and hotels through the travel desk, Clearway Travel, at least 7 days ahead where possible."),
    ("bullet", "Rail travel is standard class. First class is allowed only for journeys over 3 hours and with a "
               "director's approval in advance."),
    ("bullet", "For trips over 150 miles round trip, use a pool car or a hire car: it is cheaper than mileage."),
    ("bullet", "Overseas travel must be agreed in advance with the Finance Director."),
    ("h1", "4. Mileage"),
    ("table", ["Vehicle", "First 10,000 business miles a year", "Over 10,000 business miles a year"], [
        ["Car or van (including electric)", "48p per mile", "25p per mile"],
        ["Bicycle", "20p per mile", "20p per mile"],
    ]),
    ("p", "Add 5p per mile for each colleague you carry as a passenger on business. Travel between home and your "
          "normal office is commuting, not business mileage."),
    ("h1", "5. Accommodation"),
    ("table", ["Location", "Maximum per night (room and breakfast)"], [
        ["London", "£160"], ["Elsewhere in the UK", "£110"],
    ]),
    ("p", "Stays above these limits need the Finance Director's approval before booking."),
    ("h1", "6. Meals and subsistence"),
    ("bullet", "Day trips over 5 hours: up to £10."),
    ("bullet", "Day trips over 10 hours: up to £20."),
    ("bullet", "Overnight stays: evening meal up to £30."),
    ("bullet", "Alcohol is not reimbursed."),
    ("h1", "7. Claims and approval"),
    ("number", "Submit claims in ExpensePoint within 60 days of the expense."),
    ("number", "Attach a receipt for every item except mileage."),
    ("number", "Your line manager approves claims up to £500; claims over £500 also need a director's approval."),
    ("number", "Approved claims are paid with the next monthly salary."),
    ("h1", "8. Document control"),
    ("p", "Owner: Priya Natarajan, Finance Director. Approved by the Board on 12 March 2026. Next review: "
          "March 2028."),
    ("table", ["Version", "Date", "Summary of changes", "Author"], [
        ["1.0", "March 2019", "First issue", "Martin Cole"],
        ["2.0", "June 2021", "Hotel limits and ExpensePoint claims added", "Martin Cole"],
        ["2.1", "July 2023", "Hotel limits raised; bicycle mileage added", "Martin Cole"],
        ["3.0", "March 2026", "Mileage 48p; London hotel limit £160; claims within 60 days; approval limit £500",
         "Priya Natarajan"],
    ]),
]

_POLICY_V2 = [
    ("title", "Travel and Expenses Policy"),
    ("p", "Fellbrook Engineering Ltd — Version 2.1 — Effective 1 July 2023"),
    ("h1", "1. Purpose"),
    ("p", "This policy sets out how staff book business travel and claim back expenses."),
    ("h1", "2. Scope"),
    ("p", "It applies to all employees, and to contractors where their contract says so."),
    ("h1", "3. Booking travel"),
    ("bullet", "Book rail and hotels through the travel desk, Clearway Travel."),
    ("bullet", "Rail travel is standard class. First class travel is not reimbursed."),
    ("bullet", "Overseas travel must be agreed in advance with the Finance Director."),
    ("h1", "4. Mileage"),
    ("table", ["Vehicle", "First 10,000 business miles a year", "Over 10,000 business miles a year"], [
        ["Car or van", "45p per mile", "25p per mile"],
        ["Bicycle", "20p per mile", "20p per mile"],
    ]),
    ("p", "Add 5p per mile for each colleague you carry as a passenger on business."),
    ("h1", "5. Accommodation"),
    ("table", ["Location", "Maximum per night (room and breakfast)"], [
        ["London", "£140"], ["Elsewhere in the UK", "£95"],
    ]),
    ("h1", "6. Meals and subsistence"),
    ("bullet", "Day trips over 5 hours: up to £8."),
    ("bullet", "Day trips over 10 hours: up to £16."),
    ("bullet", "Overnight stays: evening meal up to £25."),
    ("bullet", "Alcohol is not reimbursed."),
    ("h1", "7. Claims and approval"),
    ("number", "Submit claims in ExpensePoint within 90 days of the expense."),
    ("number", "Attach a receipt for every item except mileage."),
    ("number", "Your line manager approves claims up to £250; claims over £250 also need a director's approval."),
    ("h1", "8. Document control"),
    ("p", "Owner: Martin Cole, Finance Director. Approved by the Board on 15 June 2023. Next review: June 2025."),
    ("table", ["Version", "Date", "Summary of changes", "Author"], [
        ["1.0", "March 2019", "First issue", "Martin Cole"],
        ["2.0", "June 2021", "Hotel limits and ExpensePoint claims added", "Martin Cole"],
        ["2.1", "July 2023", "Hotel limits raised; bicycle mileage added", "Martin Cole"],
    ]),
]

HANDBOOK_CHAPTERS = [
    ("Welcome to Fellbrook", [
        ("p", "Fellbrook Engineering Ltd is a civil and structural engineering consultancy. It was founded in 1998 "
              "in Carrow by Alan Fellbrook, a bridge engineer who had spent twenty years with the county council, "
              "and has grown to more than sixty people in four offices."),
        ("p", "Since April 2019 the company has been employee-owned: the Fellbrook Employee Ownership Trust holds "
              "62% of the shares on behalf of all staff."),
        ("h2", "Our offices"),
        ("table", ["Office", "Region", "Address", "Opened"], [
            ["Carrow (head office)", "North", "14 Tannery Row, Carrow", "1998"],
            ["Pellbridge", "South", "2 Harbour Chambers, Quay Street, Pellbridge", "2006"],
            ["Wendham", "West", "3 Cooper's Yard, Wendham", "2012"],
            ["Eastmere", "East", "Unit 7, Eastmere Business Park", "2019"],
        ]),
        ("h2", "About this handbook"),
        ("p", "This is edition 7 of the handbook (January 2026); it replaces edition 6 (March 2024). Where a "
              "policy has its own document, for example the Travel and Expenses Policy, that document takes "
              "precedence."),
    ]),
    ("Working hours", [
        ("p", "The standard working week is 37.5 hours, Monday to Friday."),
        ("p", "Core hours are 10:00 to 15:00, when everyone is expected to be working unless on leave. Outside "
              "core hours you may work flexibly between 07:30 and 19:00, and you may carry a credit or debit of "
              "up to 10 hours into the next month."),
        ("h2", "Hybrid working"),
        ("p", "With your line manager's agreement you may work from home for up to two days a week. Tuesday is "
              "the anchor day: every team is in its office on Tuesdays."),
    ]),
    ("Annual leave and absence", [
        ("p", "The leave year runs from 1 January to 31 December. Full-time staff receive 27 days' annual leave "
              "plus bank holidays, rising to 30 days after five years' continuous service."),
        ("p", "You may carry over up to 5 unused days into the next leave year; carried-over days must be taken "
              "by 31 March. Book leave through the HR portal, PeopleDesk."),
        ("h2", "Sickness absence"),
        ("bullet", "Tell your line manager by 09:30 on your first day of absence."),
        ("bullet", "You can self-certify for up to 7 calendar days; after that you need a fit note from your doctor."),
        ("bullet", "Company sick pay: full pay for 4 weeks in any 12 months during your first two years of "
                   "service, then 10 weeks."),
        ("h2", "Other leave"),
        ("bullet", "Volunteering: up to 2 days' paid leave a year."),
        ("bullet", "Maternity and adoption: 16 weeks at full pay, then statutory pay."),
        ("bullet", "Paternity: 4 weeks at full pay."),
    ]),
    ("Pay, pension and benefits", [
        ("p", "Salaries are paid monthly by bank transfer on the 25th of each month, or on the last working day "
              "before it if the 25th falls on a weekend or bank holiday."),
        ("p", "Pension: the company contributes 7% of salary and you contribute 5%, through the Fellbrook group "
              "personal pension with Harbourline Life."),
        ("h2", "Benefits"),
        ("bullet", "Life assurance of four times salary."),
        ("bullet", "Cycle to work scheme, up to £2,000."),
        ("bullet", "Eye tests for screen users."),
        ("bullet", "One professional subscription paid (ICE, IStructE, CIHT or equivalent)."),
        ("h2", "Employee-ownership bonus"),
        ("p", "When the company meets its profit target, the Trust pays an equal, tax-free bonus to every "
              "employee. The Board decides the amount at the end of the financial year."),
    ]),
    ("IT and information security", [
        ("bullet", "Passwords must be at least 14 characters long; use a passphrase."),
        ("bullet", "Multi-factor authentication with the Authenticator app is required for e-mail and remote access."),
        ("bullet", "Laptops lock automatically after 5 minutes without use."),
        ("bullet", "Report a lost or stolen laptop or phone to IT on extension 240 within 1 hour."),
        ("bullet", "Forward suspected phishing e-mails to phishing@fellbrook.example, then delete them."),
        ("bullet", "Do not keep project data on USB sticks; use the project folders on SharePoint."),
    ]),
    ("Health and safety", [
        ("p", "Before your first site visit you must complete the site safety induction with the Health and "
              "Safety Advisor, Bernadette Quinn (extension 231)."),
        ("h2", "Personal protective equipment"),
        ("p", "On every site you must wear:"),
        ("bullet", "a hard hat;"),
        ("bullet", "a high-visibility vest or jacket;"),
        ("bullet", "safety boots with midsole protection;"),
        ("bullet", "gloves;"),
        ("bullet", "eye protection."),
        ("p", "The company provides PPE; replace damaged items through your office manager."),
        ("h2", "Lone working"),
        ("p", "Avoid working alone on site. Where it cannot be avoided, put the visit on the lone-working board "
              "before you leave and check in with your office at least every 60 minutes. These rules were "
              "tightened in November 2025."),
        ("h2", "Accidents and near misses"),
        ("p", "Report every accident or near miss in SafeLog within 24 hours. Each office has at least two first "
              "aiders; their names are on the kitchen noticeboard."),
    ]),
    ("Learning and development", [
        ("p", "Everyone has a CPD budget of £1,200 a year for courses, conferences and books, agreed with their "
              "line manager."),
        ("p", "Graduates follow an Initial Professional Development scheme towards chartered membership of the "
              "ICE or the IStructE. Each graduate has a mentor; the company gives five days' study leave before "
              "the professional review and pays the review fee."),
        ("p", "Staff who become chartered receive a one-off award of £1,000."),
    ]),
    ("Leaving Fellbrook", [
        ("p", "New staff serve a probation period of six months."),
        ("table", ["Staff group", "Notice you give", "Notice we give"], [
            ["During probation", "1 week", "1 week"],
            ["Technicians and support staff", "1 month", "1 month"],
            ["Engineers (not chartered)", "1 month", "1 month"],
            ["Chartered engineers, associates and directors", "3 months", "3 months"],
        ]),
        ("p", "On your last day, return your laptop, phone, site pass and PPE to the office manager. Untaken leave "
              "is paid with your final salary; leave taken in excess is deducted from it."),
    ]),
]

# Slides: (layout, title, body, notes); body is a list of bullets ((level, text) or text), a subtitle
# string for the title layout, or ("table", header, rows).
Q1_REVIEW = [
    ("title", "Q1 2026 Quarterly Review",
     "Fellbrook Engineering Ltd · All-staff briefing, 23 April 2026 · Helen Marsh, Managing Director",
     "Welcome everyone. The recording of this briefing will stay on the intranet for 30 days."),
    ("bullets", "Headlines", [
        "Revenue £2.18M, up 9.8% on Q1 2025",
        "Order book £6.4M at 31 March (£5.1M a year ago)",
        "Three frameworks won:",
        (1, "Carrow County Highways Framework (4 years)"),
        (1, "Pellbridge Harbour Trust minor works"),
        (1, "Eastmere Drainage Board consultancy"),
        "Headcount 64 (59 a year ago)",
     ], "The Highways framework could be worth up to £2.5M over its four years, but none of that work is "
        "guaranteed. Please don't quote that figure to clients."),
    ("table", "Revenue by region, Q1 (£k)", ("table",
        ["Region", "Office", "Q1 2025", "Q1 2026", "Change"], [
            ["North", "Carrow", "688", "742", "+7.8%"],
            ["South", "Pellbridge", "540", "518", "−4.1%"],
            ["East", "Eastmere", "302", "391", "+29.5%"],
            ["West", "Wendham", "455", "529", "+16.3%"],
            ["Total", "", "1,985", "2,180", "+9.8%"],
        ]),
     "North includes the £85k Ostley Viaduct settlement, booked in March; without it North would be about "
     "4.5% down on last year. East's jump is mostly the new Drainage Board consultancy."),
    ("bullets", "Utilisation", [
        "Target: 78% billable",
        "Q1 actual: 74%",
        "Structures team highest at 81%",
        "East lowest at 68%: the flood alleviation scheme is paused for ground investigation",
     ], "East should recover once the ground investigation contractor leaves site in May."),
    ("bullets", "Projects to watch", [
        "Ostley Viaduct: principal inspection on site, report due to the council 15 May",
        "Pellbridge Quay wall: sheet piling starts 8 June",
        "Eastmere flood alleviation: paused pending ground investigation",
        "Northgate footbridge: planning approved 2 April",
     ], ""),
    ("bullets", "What's next", [
        "Travel and Expenses Policy v3 in force from 1 April: mileage now 48p per mile",
        "Chronos timesheets go live 1 June; training sessions on 19 and 21 May",
        "Staff survey open until 8 May",
        "Summer social: Friday 10 July, Carrow Rowing Club",
     ], "Timesheets are due by 10:00 every Monday. Late timesheets hold up invoicing."),
    ("bullets", "Questions?", ["Send questions you didn't get to ask to Helen or to your office lead."],
     "If asked about bonuses: the employee-ownership bonus is decided at the end of the year."),
]

GRAD_INDUCTION = [
    ("title", "Welcome to Fellbrook: Graduate Induction 2026",
     "7–11 September 2026 · Carrow head office",
     "Introduce yourselves first; Amara runs the week."),
    ("bullets", "Your first week", [
        "Monday: IT set-up and laptop collection with Marek Novak",
        "Tuesday: health and safety induction with Bernadette Quinn (required before any site visit)",
        "Wednesday: site visit to the Northgate footbridge",
        "Thursday: Chronos timesheets and project codes",
        "Friday: lunch with your mentor",
     ], "Remind them to bring photo ID on Monday for their site pass."),
    ("table", "Who's who", ("table", ["Role", "Name", "Office", "Extension"], [
        ["Managing Director", "Helen Marsh", "Carrow", "201"],
        ["Finance Director", "Priya Natarajan", "Carrow", "205"],
        ["HR and Office Manager", "Joanne Pike", "Carrow", "210"],
        ["IT Lead", "Marek Novak", "Carrow", "240"],
        ["Health and Safety Advisor", "Bernadette Quinn", "Carrow", "231"],
        ["Graduate Programme Lead", "Dr Amara Osei", "Carrow", "220"],
     ]), ""),
    ("bullets", "The road to chartership", [
        "ICE or IStructE Initial Professional Development",
        "Aim to be chartered within 4 to 5 years",
        "Five days' study leave before your professional review",
        "Fellbrook pays your membership fees",
     ], "Mentors are assigned by the end of week two; anyone without one by then should tell Amara."),
    ("bullets", "The graduate scheme in numbers", [
        "Starting salary £31,500",
        "CPD budget £1,200 a year",
        "2026 intake: 5 graduates (2 North, 2 West, 1 South)",
     ], "Graduate salaries are reviewed every April."),
]

# Workbook: sheet name -> (title rows above the header, header, rows)
_FY26 = [
    ("CC-N01", "North", "Staff costs", 1920000, 471300, "Colin Baptiste"),
    ("CC-N02", "North", "Travel and subsistence", 64000, 15880, "Colin Baptiste"),
    ("CC-N03", "North", "Software and IT", 48000, 13250, "Marek Novak"),
    ("CC-S01", "South", "Staff costs", 1380000, 338900, "Fiona Achterberg"),
    ("CC-S02", "South", "Travel and subsistence", 52000, 11240, "Fiona Achterberg"),
    ("CC-S03", "South", "Software and IT", 31000, 7400, "Marek Novak"),
    ("CC-E01", "East", "Staff costs", 1050000, 262100, "Declan Moore"),
    ("CC-E02", "East", "Travel and subsistence", 38000, 9920, "Declan Moore"),
    ("CC-E03", "East", "Software and IT", 24000, 5100, "Marek Novak"),
    ("CC-W01", "West", "Staff costs", 1260000, 309400, "Yusuf Demir"),
    ("CC-W02", "West", "Travel and subsistence", 47000, 12760, "Yusuf Demir"),
    ("CC-W03", "West", "Software and IT", 29000, 6950, "Marek Novak"),
    ("CC-C01", "Central", "Professional indemnity insurance", 146000, 146000, "Priya Natarajan"),
    ("CC-C02", "Central", "Training and CPD", 76800, 14300, "Joanne Pike"),
    ("CC-C03", "Central", "Premises (Carrow head office)", 212000, 53000, "Gareth Llewellyn"),
    ("CC-C04", "Central", "Premises (Wendham lease)", 36250, 8625, "Gareth Llewellyn"),
    ("CC-C05", "Central", "Marketing and bids", 35000, 6100, "Helen Marsh"),
]
_FY27 = {  # cost centre -> (draft, comment)
    "CC-N01": (2010000, ""), "CC-N02": (68000, ""), "CC-N03": (52000, ""),
    "CC-S01": (1410000, ""), "CC-S02": (50000, ""), "CC-S03": (33000, ""),
    "CC-E01": (1190000, "Two more engineers for the Drainage Board consultancy"),
    "CC-E02": (41000, ""), "CC-E03": (26000, ""),
    "CC-W01": (1390000, "Two graduate engineers from September 2026"),
    "CC-W02": (49000, ""), "CC-W03": (31000, ""),
    "CC-C01": (158000, "Broker's estimate for the April 2027 renewal"),
    "CC-C02": (84000, "70 staff at £1,200"),
    "CC-C03": (218000, ""), "CC-C04": (38000, "New lease from 1 July 2026"),
    "CC-C05": (40000, ""),
}


def workbook_sheets() -> list[tuple[str, list[list], list, list[list]]]:
    fy26 = [[i + 1, *r] for i, r in enumerate(_FY26)]
    fy26.append(["", "", "", "Total", sum(r[3] for r in _FY26), sum(r[4] for r in _FY26), ""])
    fy27 = [[i + 1, cc, region, cat, _FY27[cc][0], _FY27[cc][0] - b26, holder, _FY27[cc][1]]
            for i, (cc, region, cat, b26, _q1, holder) in enumerate(_FY26)]
    fy27.append(["", "", "", "Total", sum(v[0] for v in _FY27.values()),
                 sum(v[0] for v in _FY27.values()) - sum(r[3] for r in _FY26), "", ""])
    capex = [
        ["Survey drone (Skylark M4)", "North", "Q2", 18500, "Approved"],
        ["Laptop refresh (22 units)", "All", "Q2", 30800, "Approved"],
        ["Robotic total station", "South", "Q3", 24000, "Approved"],
        ["Ground-penetrating radar unit", "East", "Q3", 41000, "Deferred to FY2027"],
        ["East office fit-out (second floor)", "East", "Q2", 12500, "Approved"],
        ["Meeting room AV", "West", "Q4", 9800, "Approved"],
        ["Server replacement", "North", "Q1", 23400, "Complete (February)"],
        ["Total approved", "", "", 119000, ""],
    ]
    headcount = [
        ["North", "Carrow", 16, 4, 6, 26, 24],
        ["South", "Pellbridge", 9, 2, 3, 14, 14],
        ["East", "Eastmere", 7, 2, 2, 11, 9],
        ["West", "Wendham", 8, 2, 3, 13, 12],
        ["Total", "", 40, 10, 14, 64, 59],
    ]
    notes = [["Prepared by Priya Natarajan, Finance Director. Version 4, 2 March 2026."],
             ["The FY2026 budget was approved by the Board on 12 March 2026."],
             ["The FY2027 sheet is a first draft for the September 2026 board meeting and is not approved."],
             ["All amounts are in pounds sterling and exclude VAT. The financial year is the calendar year."]]
    return [
        ("FY2026 budget", [], ["Line", "Cost centre", "Region", "Category", "FY2026 budget (£)",
                               "Q1 2026 actual (£)", "Budget holder"], fy26),
        ("FY2027 draft", [], ["Line", "Cost centre", "Region", "Category", "FY2027 draft (£)",
                              "Change vs FY2026 (£)", "Budget holder", "Comment"], fy27),
        ("Capex 2026", [["Capital expenditure plan 2026 (approved by the Board on 12 March 2026)"], []],
         ["Item", "Region", "Quarter", "Amount (£)", "Status"], capex),
        ("Headcount", [], ["Region", "Office", "Engineers", "Technicians", "Support staff",
                           "Total at 31 March 2026", "Total at 31 March 2025"], headcount),
        ("Notes", [], ["Notes"], notes),
    ]


EQUIPMENT_HEADER = ["asset_tag", "item", "model", "office", "purchased", "cost_gbp", "calibration_due",
                    "custodian", "status"]
EQUIPMENT = [
    ["FE-EQ-0101", "Robotic total station", "Kestrel RT-5", "Carrow", "2021-03-15", "23850", "2026-09-30",
     "Colin Baptiste", "In service"],
    ["FE-EQ-0102", "GNSS receiver", "Orion G3", "Carrow", "2022-06-01", "14200", "2026-11-15", "Tom Ferris",
     "In service"],
    ["FE-EQ-0103", "Survey drone", "Skylark M2", "Carrow", "2020-10-12", "11900", "n/a", "Gareth Llewellyn",
     "To be retired"],
    ["FE-EQ-0104", "Survey drone", "Skylark M4", "Carrow", "2026-06-02", "17240", "n/a", "Gareth Llewellyn",
     "In service"],
    ["FE-EQ-0105", "Digital level", "Linea DL-50", "Pellbridge", "2019-05-20", "3150", "2026-07-31",
     "Fiona Achterberg", "In service"],
    ["FE-EQ-0106", "Robotic total station", "Kestrel RT-5", "Pellbridge", "2023-02-08", "24600", "2027-02-28",
     "Fiona Achterberg", "Out for repair"],
    ["FE-EQ-0107", "Rebound hammer", "Type N", "Carrow", "2018-09-03", "1450", "2026-08-15", "Dr Amara Osei",
     "In service"],
    ["FE-EQ-0108", "Cover meter", "Profiscan 2", "Carrow", "2022-01-17", "4380", "2026-10-01", "Dr Amara Osei",
     "In service"],
    ["FE-EQ-0109", "Gas monitor (4-gas)", "Sentinel Q4", "Eastmere", "2025-11-20", "890", "2026-05-20",
     "Declan Moore", "Calibration overdue"],
    ["FE-EQ-0110", "Gas monitor (4-gas)", "Sentinel Q4", "Carrow", "2025-11-20", "890", "2026-11-20",
     "Bernadette Quinn", "In service"],
    ["FE-EQ-0111", "Laser scanner", "Vista LS-360", "Wendham", "2024-04-11", "38900", "2026-10-15",
     "Yusuf Demir", "In service"],
    ["FE-EQ-0112", "Water level dipper", "DipTape 30", "Eastmere", "2021-08-09", "310", "n/a", "Declan Moore",
     "In service"],
    ["FE-EQ-0113", "Echo sounder", "SonarLite", "Pellbridge", "2024-07-01", "6200", "2027-01-10",
     "Fiona Achterberg", "On loan to Greywater Diving Services"],
    ["FE-EQ-0114", "Crack width gauge set", "CW-10", "Wendham", "2023-11-02", "120", "n/a", "Yusuf Demir",
     "In service"],
    ["FE-EQ-0115", "Load test kit", "Hydra 100 kN", "Carrow", "2017-04-25", "7600", "2026-06-30",
     "Colin Baptiste", "Lost (reported 2026-05-11)"],
]

TIMESHEET_HEADER = ["Project code", "Project", "Client", "Region", "Project lead", "Hours logged",
                    "Billable hours", "Fee budget (GBP)", "Fee spent to date (GBP)"]
TIMESHEET = [
    ["FE-2291", "Ostley Viaduct principal inspection", "Carrow County Council", "North", "Dr Amara Osei",
     "412.5", "398.0", "148000", "121300"],
    ["FE-2304", "Pellbridge Quay wall repair", "Pellbridge Harbour Trust", "South", "Fiona Achterberg",
     "236.0", "236.0", "96850", "35400"],
    ["FE-2318", "Eastmere flood alleviation scheme", "Eastmere Drainage Board", "East", "Declan Moore",
     "88.5", "80.0", "212000", "64750"],
    ["FE-2325", "Wendham Academy extension", "Wendham Academy Trust", "West", "Yusuf Demir", "301.0", "289.5",
     "131500", "97800"],
    ["FE-2337", "Northgate footbridge replacement", "Carrow County Council", "North", "Colin Baptiste",
     "174.0", "174.0", "187000", "41200"],
    ["FE-2342", "Carrow County Highways Framework call-offs", "Carrow County Council", "North",
     "Colin Baptiste", "129.5", "129.5", "60000", "18900"],
    ["FE-2350", "Eastmere Drainage Board consultancy", "Eastmere Drainage Board", "East", "Declan Moore",
     "197.0", "190.5", "75000", "39600"],
    ["INT-001", "Internal: training and CPD", "Fellbrook", "All", "Joanne Pike", "143.0", "0.0", "0", "0"],
    ["INT-002", "Internal: bids and marketing", "Fellbrook", "All", "Helen Marsh", "96.5", "0.0", "0", "0"],
]

ACTIVITY_CODES = [
    ["code", "activity", "billable", "notes"],
    ["DES-10", "Design and calculations", "yes", ""],
    ["DRW-20", "Drawings and BIM modelling", "yes", ""],
    ["SV-30", "Site visit and inspection", "yes", "Include travel time to and from site"],
    ["MTG-40", "Client meetings", "yes", ""],
    ["RPT-50", "Report writing", "yes", ""],
    ["CHK-60", "Independent check (Category 2)", "yes", "Checker's time only"],
    ["BID-70", "Bids and proposals", "no", "Use with project code INT-002"],
    ["TRN-80", "Training and CPD", "no", "Use with project code INT-001"],
    ["ADM-90", "Internal administration", "no", ""],
    ["LVE-99", "Annual leave", "no", "Filled in automatically from approved leave"],
]


def _addr(name: str, local: str) -> str:
    return f"{name} <{local}@{DOMAIN}>"


MAILS = [
    {
        "path": "mail/2026-04-02-ostley-viaduct-span-4-findings.eml",
        "from": _addr("Dr Amara Osei", "amara.osei"),
        "to": [_addr("Colin Baptiste", "colin.baptiste"), _addr("Tom Ferris", "tom.ferris")],
        "cc": [_addr("Bernadette Quinn", "bernadette.quinn")],
        "date": dt.datetime(2026, 4, 2, 16, 47, 12, tzinfo=UK),
        "subject": "Ostley Viaduct - principal inspection, span 4 findings",
        "id": "20260402154712.ostley.4@fellbrook.example",
        "body": """\
Colin, Tom,

A quick summary of today's rope-access inspection of spans 3 to 5, ahead of the full report:

- Pier 3, north face: spalling over about 1.2 m2, with exposed and corroded reinforcement.
- Span 4: two of the four bearings are seized, and the expansion joint has failed and is letting water onto the pier head.
- Span 5: nothing beyond what we recorded in 2022.

Because of the bearings I have recommended to the council that a temporary 7.5 tonne weight restriction goes on the viaduct until they are replaced. They have agreed in principle and expect to put it in place from 9 April.

The rope access team is back on 14 April for spans 1 and 2. Access is through the Mill Lane compound; the gate code is held by the site office, not by me.

The full principal inspection report is due to the council on 15 May.

Amara

--
Dr Amara Osei CEng MIStructE
Head of Structures, Fellbrook Engineering Ltd
""",
    },
    {
        "path": "mail/2026-05-20-pellbridge-quay-fee-proposal-rev-b.eml",
        "from": _addr("Fiona Achterberg", "fiona.achterberg"),
        "to": [_addr("Helen Marsh", "helen.marsh")],
        "cc": [_addr("Priya Natarajan", "priya.natarajan")],
        "date": dt.datetime(2026, 5, 20, 9, 12, 40, tzinfo=UK),
        "subject": "Pellbridge Quay wall - revised fee proposal (rev B) for sign-off",
        "id": "20260520081240.feeprop.b@fellbrook.example",
        "body": """\
Helen,

Please find attached revision B of our fee proposal for the Pellbridge Quay wall repair. The only change from revision A is the post-construction monitoring stage that the Harbour Trust asked for at the meeting on 14 May.

Could you sign it off by Friday? I'd like to send it to the Trust on Tuesday 26 May (Monday is the bank holiday).

Thanks,
Fiona

--
Fiona Achterberg CEng MICE
South Office Lead, Fellbrook Engineering Ltd
Pellbridge office: 01632 960418
""",
        "attachment": ("Pellbridge-Quay-fee-proposal-rev-B.docx", "docx", FEE_PROPOSAL),
    },
    {
        "path": "mail/2026-05-26-carrow-office-closed-friday.eml",
        "from": _addr("Joanne Pike", "joanne.pike"),
        "to": [_addr("All Carrow staff", "carrow-staff")],
        "cc": [_addr("Gareth Llewellyn", "gareth.llewellyn")],
        "date": dt.datetime(2026, 5, 26, 11, 30, 0, tzinfo=UK),
        "subject": "Carrow office closed on Friday 29 May (electrical testing)",
        "id": "20260526103000.closure@fellbrook.example",
        "body": """\
Dear all,

The Carrow office will be closed all day on Friday 29 May for the five-yearly fixed-wire electrical inspection (EICR), carried out by Brightwire Electrical. The power will be off for most of the day, so please plan to work from home.

- The car park will also be closed.
- The server room stays up on its UPS, so the VPN and e-mail will work as normal.
- If you need a desk that day, the Pellbridge office has four spare desks; book them with reception there.
- Deliveries will be redirected to the Pellbridge office for the day.

The office reopens at 07:30 on Monday 1 June.

Thanks for your patience,
Joanne

Joanne Pike
HR and Office Manager, Fellbrook Engineering Ltd
""",
    },
    {
        "path": "mail/2026-06-03-chronos-activity-codes.eml",
        "from": _addr("Marek Novak", "marek.novak"),
        "to": [_addr("All staff", "all-staff")],
        "cc": [],
        "date": dt.datetime(2026, 6, 3, 8, 5, 0, tzinfo=UK),
        "subject": "Chronos: activity codes for timesheets (attached)",
        "id": "20260603070500.chronos@fellbrook.example",
        "body": """\
Hi all,

Chronos went live on Monday 1 June and most of you have now logged your first week in it. Several people asked which activity code to use for what, so the full list is attached (chronos-activity-codes.csv); it opens in Excel.

A reminder that timesheets are due by 10:00 every Monday.

If you can't log in, contact the IT helpdesk on extension 240.

Marek

--
Marek Novak
IT Lead, Fellbrook Engineering Ltd
""",
        "html": True,
        "attachment": ("chronos-activity-codes.csv", "csv", ACTIVITY_CODES),
    },
]

# Scans: pages of (style, text); styles: "head" (bold, large), "bold", "body", "gap".
LONE_WORKING_MEMO = [
    [
        ("head", "FELLBROOK ENGINEERING LTD"),
        ("bold", "MEMORANDUM"),
        ("gap", ""),
        ("body", "To: All site staff"),
        ("body", "From: Bernadette Quinn, Health and Safety Advisor"),
        ("body", "Date: 14 November 2025"),
        ("body", "Ref: HS-MEMO-2025-07"),
        ("bold", "Subject: Lone working and confined spaces - changes with immediate effect"),
        ("gap", ""),
        ("body", "On 3 November 2025 a colleague working alone at the Eastmere pumping station entered a valve "
                 "chamber without a gas monitor. Nobody was hurt, but this was a serious near miss. The following "
                 "rules apply from today."),
        ("gap", ""),
        ("body", "1. Nobody enters a confined space except as a two-person team trained in confined space entry, "
                 "carrying a calibrated four-gas monitor."),
        ("body", "2. Lone workers must check in with their office at least every 60 minutes (previously every "
                 "2 hours)."),
        ("body", "3. If a lone worker misses a check-in, the office calls them after 15 minutes and escalates to "
                 "the site contact after 30 minutes."),
        ("gap", ""),
        ("body", "Continued overleaf."),
    ],
    [
        ("body", "HS-MEMO-2025-07, page 2"),
        ("gap", ""),
        ("body", "4. Gas monitors must be bump tested before each use. Two new monitors have been ordered, one "
                 "for the Carrow store and one for the Eastmere store."),
        ("gap", ""),
        ("bold", "Training"),
        ("body", "A one-day Confined Space Entry (medium risk) course will run on 9 December 2025 at the Carrow "
                 "office, delivered by Halden Safety Training. Attendance is compulsory for all Civils and "
                 "Structures site staff."),
        ("gap", ""),
        ("body", "Questions to Bernadette Quinn, extension 231."),
        ("gap", ""),
        ("body", "Signed: B. Quinn"),
    ],
]

CAR_PARK_MEMO = [
    ("head", "FELLBROOK ENGINEERING LTD"),
    ("bold", "NOTICE TO STAFF"),
    ("gap", ""),
    ("body", "To: All Carrow office staff"),
    ("body", "From: Joanne Pike, HR and Office Manager"),
    ("body", "Date: 9 February 2026"),
    ("bold", "Subject: Car park resurfacing, 23 to 27 February"),
    ("gap", ""),
    ("body", "The Tannery Row car park will be closed from Monday 23 February to Friday 27 February 2026 while "
             "it is resurfaced. During that week please use the Station Road multi-storey car park."),
    ("gap", ""),
    ("body", "Parking permits for the multi-storey can be collected from reception from 18 February. If you pay "
             "for parking yourself, you can claim back up to £8 per day through expenses (receipt required)."),
    ("gap", ""),
    ("body", "The cycle racks at the front of the building are not affected. Disabled parking bays will be "
             "available at the side entrance on Tannery Lane."),
    ("gap", ""),
    ("body", "Thank you, Joanne"),
]


# --------------------------------------------------------------------------------------------------
# Writers. Each returns the file's bytes; zip-based formats go through _fixed_zip so that rebuilding
# gives the same bytes (no wall-clock timestamps).
# --------------------------------------------------------------------------------------------------

CORE_DATE_RE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes, stamp: str = "2026-01-01T00:00:00Z") -> bytes:
    """The same archive with fixed member times (and fixed dates in docProps/core.xml)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = CORE_DATE_RE.sub(rb"\g<1>" + stamp.encode() + rb"\g<2>", blob)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = info.compress_type
            zi.create_system = 3
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, blob)
    return out.getvalue()


def _core(props, title: str, author: str, when: dt.datetime) -> None:
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.created = when
    props.modified = when
    props.revision = 1


def write_docx(blocks: list, title: str, author: str, when: dt.datetime) -> bytes:
    from docx import Document

    doc = Document()
    for block in blocks:
        kind = block[0]
        if kind == "title":
            doc.add_heading(block[1], level=0)
        elif kind in ("h1", "h2"):
            doc.add_heading(block[1], level=int(kind[1]))
        elif kind == "p":
            doc.add_paragraph(block[1])
        elif kind == "bullet":
            doc.add_paragraph(block[1], style="List Bullet")
        elif kind == "number":
            doc.add_paragraph(block[1], style="List Number")
        elif kind == "table":
            header, rows = block[1], block[2]
            table = doc.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, header):
                cell.text = ""
                cell.paragraphs[0].add_run(text).bold = True
            for row in rows:
                for cell, text in zip(table.add_row().cells, row):
                    cell.text = text
        else:
            raise ValueError(kind)
    _core(doc.core_properties, title, author, when)
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue(), when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_pptx(slides: list, title: str, author: str, when: dt.datetime) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    for layout, heading, body, notes in slides:
        if layout == "title":
            slide = prs.slides.add_slide(prs.slide_layouts[0])
            slide.shapes.title.text = heading
            slide.placeholders[1].text = body
        elif layout == "bullets":
            slide = prs.slides.add_slide(prs.slide_layouts[1])
            slide.shapes.title.text = heading
            frame = slide.placeholders[1].text_frame
            for i, item in enumerate(body):
                level, text = item if isinstance(item, tuple) else (0, item)
                para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
                para.text, para.level = text, level
        elif layout == "table":
            slide = prs.slides.add_slide(prs.slide_layouts[5])
            slide.shapes.title.text = heading
            _, header, rows = body
            shape = slide.shapes.add_table(len(rows) + 1, len(header), Inches(0.5), Inches(1.8), Inches(9),
                                           Inches(0.4) * (len(rows) + 1))
            for r, values in enumerate([header, *rows]):
                for c, text in enumerate(values):
                    cell = shape.table.cell(r, c)
                    cell.text = text
                    if text:
                        cell.text_frame.paragraphs[0].runs[0].font.size = Pt(16)
        else:
            raise ValueError(layout)
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    _core(prs.core_properties, title, author, when)
    buf = io.BytesIO()
    prs.save(buf)
    return _fixed_zip(buf.getvalue(), when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_xlsx(sheets: list, author: str, when: dt.datetime) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, title_rows, header, rows in sheets:
        ws = wb.create_sheet(name)
        for row in title_rows:
            ws.append(row)
            if row:
                ws.cell(ws.max_row, 1).font = Font(bold=True, size=13)
        ws.append(header)
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(row)
            if "Total" in row or "Total approved" in row:
                for cell in ws[ws.max_row]:
                    cell.font = Font(bold=True)
        for col in range(1, len(header) + 1):
            width = max(len(str(ws.cell(r, col).value or "")) for r in range(header_row, ws.max_row + 1))
            ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 60)
            for r in range(header_row + 1, ws.max_row + 1):
                if isinstance(ws.cell(r, col).value, int) and "£" in header[col - 1]:
                    ws.cell(r, col).number_format = "#,##0"
        ws.freeze_panes = ws.cell(header_row + 1, 1)
    wb.properties.creator = author
    wb.properties.lastModifiedBy = author
    wb.properties.title = "Budget FY2026 and draft FY2027"
    wb.properties.created = when
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue(), when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_delimited(header: list, rows: list, delimiter: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n" if delimiter == "," else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_odt(blocks: list, title: str, author: str, when: dt.datetime) -> bytes:
    from odf import dc, meta
    from odf.opendocument import OpenDocumentText
    from odf.style import ParagraphProperties, Style, TextProperties
    from odf.table import Table, TableCell, TableColumn, TableHeaderRows, TableRow
    from odf.text import H, List, ListItem, ListLevelStyleBullet, ListLevelStyleNumber, ListStyle, P

    doc = OpenDocumentText()

    def pstyle(name, display, size=None, bold=False, level=None):
        st = Style(name=name, displayname=display, family="paragraph",
                   **({"defaultoutlinelevel": str(level)} if level else {}))
        props = {"fontsize": size} if size else {}
        if bold:
            props["fontweight"] = "bold"
        if props:
            st.addElement(TextProperties(**props))
        st.addElement(ParagraphProperties(marginbottom="0.2cm"))
        doc.styles.addElement(st)
        return st

    s_title = pstyle("Title", "Title", "20pt", True)
    s_h = {1: pstyle("Heading_20_1", "Heading 1", "15pt", True, 1),
           2: pstyle("Heading_20_2", "Heading 2", "13pt", True, 2)}
    s_body = pstyle("Text_20_body", "Text body")
    s_th = pstyle("Table_20_Heading", "Table Heading", None, True)
    s_td = pstyle("Table_20_Contents", "Table Contents")
    bullets = ListStyle(name="List_20_1", displayname="List 1")
    bullets.addElement(ListLevelStyleBullet(level=1, bulletchar="•"))
    numbers = ListStyle(name="Numbering_20_123", displayname="Numbering 123")
    numbers.addElement(ListLevelStyleNumber(level=1, numformat="1", numsuffix="."))
    doc.styles.addElement(bullets)
    doc.styles.addElement(numbers)

    current_list, current_kind, n_tables = None, None, 0
    for block in blocks:
        kind = block[0]
        if kind in ("bullet", "number"):
            if current_kind != kind:
                current_list = List(stylename=bullets if kind == "bullet" else numbers)
                doc.text.addElement(current_list)
                current_kind = kind
            item = ListItem()
            item.addElement(P(stylename=s_body, text=block[1]))
            current_list.addElement(item)
            continue
        current_list, current_kind = None, None
        if kind == "title":
            doc.text.addElement(P(stylename=s_title, text=block[1]))
        elif kind in ("h1", "h2"):
            level = int(kind[1])
            doc.text.addElement(H(outlinelevel=level, stylename=s_h[level], text=block[1]))
        elif kind == "p":
            doc.text.addElement(P(stylename=s_body, text=block[1]))
        elif kind == "table":
            n_tables += 1
            header, rows = block[1], block[2]
            table = Table(name=f"Table{n_tables}")
            table.addElement(TableColumn(numbercolumnsrepeated=len(header)))
            head = TableHeaderRows()
            for values, style, parent in ((header, s_th, head), *((r, s_td, table) for r in rows)):
                row = TableRow()
                for text in values:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(stylename=style, text=text))
                    row.addElement(cell)
                parent.addElement(row)
                if parent is head:
                    table.addElement(head)
            doc.text.addElement(table)
        else:
            raise ValueError(kind)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    doc.meta.addElement(dc.Title(text=title))
    doc.meta.addElement(meta.InitialCreator(text=author))
    doc.meta.addElement(dc.Creator(text=author))
    doc.meta.addElement(meta.CreationDate(text=stamp))
    doc.meta.addElement(dc.Date(text=stamp))
    buf = io.BytesIO()
    doc.write(buf)
    return _fixed_zip(buf.getvalue())


def _html_blocks(blocks: list) -> str:
    out, open_list = [], None
    for block in blocks:
        kind = block[0]
        tag = {"bullet": "ul", "number": "ol"}.get(kind)
        if open_list and tag != open_list:
            out.append(f"</{open_list}>")
            open_list = None
        if tag:
            if not open_list:
                out.append(f"<{tag}>")
                open_list = tag
            out.append(f"<li>{escape(block[1])}</li>")
        elif kind == "h2":
            out.append(f"<h2>{escape(block[1])}</h2>")
        elif kind == "p":
            out.append(f"<p>{escape(block[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{escape(h)}</th>" for h in block[1])
            body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in block[2])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            raise ValueError(kind)
    if open_list:
        out.append(f"</{open_list}>")
    return "\n".join(out)


def write_epub(chapters: list, title: str, author: str, when: dt.datetime) -> bytes:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("urn:uuid:6f1c2a44-0b7e-4c1d-9a53-f3e1d2b0c7a9")
    book.set_title(title)
    book.set_language("en")
    book.add_author(author)
    book.add_metadata("DC", "publisher", "Fellbrook Engineering Ltd")
    book.add_metadata("DC", "date", when.strftime("%Y-%m-%d"))
    css = epub.EpubItem(uid="style", file_name="style/handbook.css", media_type="text/css",
                        content=b"body{font-family:serif} table{border-collapse:collapse} "
                                b"td,th{border:1px solid #999;padding:2px 6px}")
    book.add_item(css)
    items = []
    for n, (heading, blocks) in enumerate(chapters, 1):
        item = epub.EpubHtml(title=f"{n}. {heading}", file_name=f"chapter-{n:02d}.xhtml", lang="en",
                             uid=f"chapter-{n:02d}")
        item.content = f"<h1>{n}. {escape(heading)}</h1>\n{_html_blocks(blocks)}"
        item.add_item(css)
        book.add_item(item)
        items.append(item)
    book.toc = tuple(items)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.epub"
        epub.write_epub(str(path), book, {"mtime": when})
        return _fixed_zip(path.read_bytes())


def write_eml(mail: dict) -> bytes:
    msg = EmailMessage(policy=email.policy.default)
    msg["From"] = mail["from"]
    msg["To"] = ", ".join(mail["to"])
    if mail["cc"]:
        msg["Cc"] = ", ".join(mail["cc"])
    msg["Date"] = format_datetime(mail["date"])
    msg["Subject"] = mail["subject"]
    msg["Message-ID"] = f"<{mail['id']}>"
    msg.set_content(mail["body"])
    if mail.get("html"):
        paras = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in mail["body"].split("\n\n"))
        msg.add_alternative(f"<html><body>{paras}</body></html>", subtype="html")
        msg.set_boundary("----=_Alt_" + mail["id"].split("@")[0])
    attachment = mail.get("attachment")
    if attachment:
        name, kind, content = attachment
        if kind == "docx":
            data = write_docx(content, content[0][1], mail["from"].split(" <")[0], mail["date"].replace(tzinfo=None))
            msg.add_attachment(data, maintype="application",
                               subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename=name)
        else:
            data = write_delimited(content[0], content[1:], ",")
            msg.add_attachment(data, maintype="text", subtype="csv", filename=name)
        msg.set_boundary("----=_Mixed_" + mail["id"].split("@")[0])
    return msg.as_bytes()


def render_scan(lines: list, size: tuple[int, int], dpi: int, seed: int, angle: float, noise: bool):
    """A page of typed text as a scanner returns it: grey paper, a slight skew, soft edges."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

    fonts = {
        "head": ImageFont.truetype("/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf", dpi * 20 // 72),
        "bold": ImageFont.truetype("/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf", dpi * 12 // 72),
        "body": ImageFont.truetype("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf", dpi * 12 // 72),
    }
    width, height = size
    margin = dpi  # one inch
    page = Image.new("L", size, 246)
    draw = ImageDraw.Draw(page)
    y = margin
    for style, text in lines:
        if style == "gap":
            y += dpi * 10 // 72
            continue
        font = fonts[style]
        line_height = int(font.size * 1.35)
        avg = font.getlength("abcdefghijklmnopqrstuvwxyz") / 26
        for line in textwrap.wrap(text, width=int((width - 2 * margin) / avg)):
            while font.getlength(line) > width - 2 * margin:  # never run off the page
                line = line[: line.rfind(" ")]
            draw.text((margin, y), line, fill=28, font=font)
            y += line_height
    if noise:
        rng = random.Random(seed)
        speckle = Image.frombytes("L", size, rng.randbytes(width * height)).point(lambda v: 14 if v > 250 else 0)
        page = ImageChops.subtract(page, speckle)
    page = page.rotate(angle, resample=Image.BICUBIC, fillcolor=250)
    return page.filter(ImageFilter.GaussianBlur(0.7))


def write_scanned_pdf(pages: list) -> bytes:
    images = [render_scan(p, (1654, 2339), 200, seed=i, angle=0.4 - 0.6 * i, noise=True)
              for i, p in enumerate(pages)]
    buf = io.BytesIO()
    fixed = dt.datetime(2025, 11, 14, 15, 2, 0).timetuple()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=200.0, quality=70,
                   title="Scan 2025-11-14", creator="Office scanner", producer="Office scanner",
                   creationDate=fixed, modDate=fixed)
    return buf.getvalue()


def write_scanned_png(lines: list) -> bytes:
    image = render_scan(lines, (1240, 1754), 150, seed=99, angle=-0.3, noise=False)
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(150, 150))
    return buf.getvalue()


def build() -> dict[str, bytes]:
    """Every corpus file: relative path -> bytes."""
    d = dt.datetime
    files = {
        "minutes/2026-03-12-board-meeting-minutes.docx":
            write_docx(MINUTES_MARCH, "Board meeting minutes, 12 March 2026", "Lucy Adebayo", d(2026, 3, 16, 9, 30)),
        "minutes/2026-06-18-board-meeting-minutes.docx":
            write_docx(MINUTES_JUNE, "Board meeting minutes, 18 June 2026", "Lucy Adebayo", d(2026, 6, 22, 10, 0)),
        "projects/northgate-footbridge-design-basis-rev-c.docx":
            write_docx(DESIGN_BASIS, "Northgate Footbridge Design Basis Statement", "Colin Baptiste",
                       d(2026, 1, 19, 14, 0)),
        "presentations/q1-2026-quarterly-review.pptx":
            write_pptx(Q1_REVIEW, "Q1 2026 Quarterly Review", "Helen Marsh", d(2026, 4, 22, 17, 45)),
        "presentations/graduate-induction-2026.pptx":
            write_pptx(GRAD_INDUCTION, "Graduate Induction 2026", "Dr Amara Osei", d(2026, 9, 2, 11, 0)),
        "finance/budget-fy2026-fy2027.xlsx":
            write_xlsx(workbook_sheets(), "Priya Natarajan", d(2026, 3, 2, 16, 20)),
        "exports/equipment-register.csv": write_delimited(EQUIPMENT_HEADER, EQUIPMENT, ","),
        "exports/timesheet-summary-2026-05.tsv": write_delimited(TIMESHEET_HEADER, TIMESHEET, "\t"),
        "policies/travel-and-expenses-policy-v2.1.odt":
            write_odt(_POLICY_V2, "Travel and Expenses Policy v2.1", "Martin Cole", d(2023, 6, 20, 12, 0)),
        "policies/travel-and-expenses-policy-v3.0.odt":
            write_odt(_POLICY_V3, "Travel and Expenses Policy v3.0", "Priya Natarajan", d(2026, 3, 13, 9, 0)),
        "handbook/staff-handbook-edition-7.epub":
            write_epub(HANDBOOK_CHAPTERS, "Fellbrook Engineering Staff Handbook (Edition 7, January 2026)",
                       "Fellbrook Engineering Ltd", d(2026, 1, 12, 9, 0)),
        "scans/2025-11-14-lone-working-memo.pdf": write_scanned_pdf(LONE_WORKING_MEMO),
        "scans/2026-02-09-car-park-notice.png": write_scanned_png(CAR_PARK_MEMO),
    }
    for mail in MAILS:
        files[mail["path"]] = write_eml(mail)
    return files


def write_corpus() -> None:
    files = build()
    if OUT.exists():
        shutil.rmtree(OUT)
    for rel, data in sorted(files.items()):
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{len(data):>9,}  {rel}")
    print(f"{sum(map(len, files.values())):>9,}  total, {len(files)} files in {OUT.relative_to(REPO)}")


# --------------------------------------------------------------------------------------------------
# Check: read the files back (independently of rag/) and test the suites' facts against them.
# --------------------------------------------------------------------------------------------------

def _rows_text(header: list, rows: list) -> list[str]:
    """Each row raw and labelled with its header ("Region: North; ..."), as a reader would pair them."""
    out = [" | ".join(header)]
    for row in rows:
        out.append(" | ".join(row))
        out.append("; ".join(f"{h}: {v}" for h, v in zip(header, row) if v))
    return out


def _cell(value) -> str:
    return "" if value is None else str(value)


def read_docx(data: bytes) -> str:
    from docx import Document
    from docx.table import Table

    doc = Document(io.BytesIO(data))
    out = []
    for part in doc.iter_inner_content():
        if isinstance(part, Table):
            rows = [[c.text for c in r.cells] for r in part.rows]
            out += _rows_text(rows[0], rows[1:])
        else:
            out.append(part.text)
    return "\n".join(out)


def read_pptx(data: bytes) -> str:
    from pptx import Presentation

    out = []
    for n, slide in enumerate(Presentation(io.BytesIO(data)).slides, 1):
        out.append(f"[slide {n}]")
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
            elif shape.has_table:
                rows = [[c.text for c in r.cells] for r in shape.table.rows]
                out += _rows_text(rows[0], rows[1:])
        if slide.has_notes_slide:
            out.append("Notes: " + slide.notes_slide.notes_text_frame.text)
    return "\n".join(out)


def read_xlsx(data: bytes) -> str:
    from openpyxl import load_workbook

    out = []
    for ws in load_workbook(io.BytesIO(data), data_only=True).worksheets:
        out.append(f"[sheet {ws.title}]")
        rows = [[_cell(v) for v in r] for r in ws.iter_rows(values_only=True)]
        start = next(i for i, r in enumerate(rows) if sum(bool(v) for v in r) >= min(2, len(r)))
        out += [" | ".join(r) for r in rows[:start]]
        out += _rows_text(rows[start], rows[start + 1:])
    return "\n".join(out)


def read_delimited(data: bytes, delimiter: str) -> str:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter))
    return "\n".join(_rows_text(rows[0], rows[1:]))


def read_odt(data: bytes) -> str:
    from odf import teletype
    from odf.opendocument import load
    from odf.text import H, P

    doc = load(io.BytesIO(data))
    return "\n".join(teletype.extractText(e) for e in doc.text.getElementsByType(P) + doc.text.getElementsByType(H))


def read_epub(data: bytes) -> str:
    import ebooklib
    from ebooklib import epub
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts = []

        def handle_data(self, d):
            self.parts.append(d)

        def handle_endtag(self, tag):
            self.parts.append("\n")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.epub"
        path.write_bytes(data)
        book = epub.read_epub(str(path), {"ignore_ncx": True})
    out = []
    for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT):
        parser = Text()
        parser.feed(item.get_content().decode("utf-8"))
        out.append("".join(parser.parts))
    return "\n".join(out)


def ocr(image_paths: list[Path]) -> str:
    return "\n".join(subprocess.run(["tesseract", str(p), "-", "--psm", "6"], capture_output=True, text=True,
                                    check=True).stdout for p in image_paths)


def read_scan(data: bytes, suffix: str) -> str:
    if not shutil.which("tesseract") or (suffix == ".pdf" and not shutil.which("pdftoppm")):
        raise SystemExit("--check needs tesseract (and pdftoppm for PDFs): apt-get install tesseract-ocr poppler-utils")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"scan{suffix}"
        src.write_bytes(data)
        if suffix == ".pdf":
            subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", str(src), f"{tmp}/page"], check=True)
            return ocr(sorted(Path(tmp).glob("page*.png")))
        return ocr([src])


def read_eml(data: bytes, rel: str) -> dict[str, str]:
    """The mail's own text (headers and body) and each attachment's, keyed as citations name them."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    head = [f"{h}: {msg[h]}" for h in ("From", "To", "Cc", "Date", "Subject") if msg[h]]
    texts = {rel: "\n".join(head + [msg.get_body(preferencelist=("plain",)).get_content()])}
    for part in msg.iter_attachments():
        name = part.get_filename()
        texts[f"{rel}#{name}"] = read_any(part.get_content(), name)
    return texts


def read_any(data: bytes | str, name: str) -> str:
    suffix = Path(name).suffix.lower()
    if isinstance(data, str):
        data = data.encode("utf-8")
    readers = {".docx": read_docx, ".pptx": read_pptx, ".xlsx": read_xlsx, ".odt": read_odt, ".epub": read_epub,
               ".csv": lambda b: read_delimited(b, ","), ".tsv": lambda b: read_delimited(b, "\t"),
               ".pdf": lambda b: read_scan(b, ".pdf"), ".png": lambda b: read_scan(b, ".png")}
    return readers[suffix](data)


def corpus_texts() -> dict[str, str]:
    """Relative path (or ``mail.eml#attachment``) -> text, whitespace collapsed."""
    texts = {}
    for path in sorted(p for p in OUT.rglob("*") if p.is_file()):
        rel = path.relative_to(OUT).as_posix()
        if path.suffix == ".eml":
            texts.update(read_eml(path.read_bytes(), rel))
        else:
            texts[rel] = read_any(path.read_bytes(), rel)
    return {k: " ".join(v.split()) for k, v in texts.items()}


# For each refusal case: words that would state the asked-for fact; none may be in the corpus.
ABSENT = {
    "ooc-capital-portugal": ["Lisbon", "Portugal"],
    "ooc-vlan-cisco": ["VLAN", "Cisco"],
    "ooc-base-rate": ["Bank of England", "base rate", "interest rate"],
    "ooc-world-cup": ["World Cup", "football"],
    "ooc-banana-bread": ["banana", "recipe"],
    "absent-east-travel-fy2025": ["FY2025 budget", "2025 budget"],
    "absent-demir-march": [],  # checked by hand: Yusuf Demir is not in the 12 March minutes
    "ho-absent-drone-pilots": [],  # checked by hand: the June minutes do not name the two pilots
    "absent-south-q2-revenue": ["Q2 2026 revenue", "Q2 revenue"],
    "absent-sheet-piling-duration": ["piling will take", "weeks of piling", "piling takes"],
    "absent-demir-extension": [],  # checked by hand: the who's who table has no row for him
    "absent-course-attendance": ["attended the course", "completed the course", "people attended"],
    "absent-part-time-leave": ["part-time", "part time", "pro rata", "pro-rata"],
    "absent-satellite-desk": ["satellite desk", "satellite office"],
    "ho-ooc-speed-of-light": ["speed of light", "km/s"],
    "ho-ooc-passport": ["passport"],
    "ho-ooc-japanese": ["Japanese", "ohayo"],
    "ho-absent-fy2024-margin": ["FY2024 margin", "margin in FY2024", "margin for FY2024", "margin of"],
    "ho-absent-september-chair": ["chaired the September", "Minutes of 17 September"],
    "ho-absent-motorcycle": ["motorcycle", "motorbike", "moped"],
    "ho-absent-survey-2025": ["2025 staff survey"],
}


def check(suites: list[Path], hints: bool) -> int:
    sys.path.insert(0, str(REPO))
    from evals.normalize import has_fact
    from evals.suite import load_suite

    texts = corpus_texts()
    everything = "\n".join(texts.values())
    errors = 0
    for suite_path in suites:
        suite = load_suite(suite_path)
        assert suite.corpus == OUT, suite.corpus
        for case in suite.cases:
            if case.refuse:
                if case.id not in ABSENT:
                    print(f"ERROR {case.id}: refusal case without an ABSENT entry in this script")
                    errors += 1
                for word in ABSENT.get(case.id, []):
                    if has_fact(everything, word):
                        print(f"ERROR {case.id}: {word!r} is in the corpus")
                        errors += 1
                continue
            files = []
            for group in case.sources:
                for pattern in group:
                    found = [k for k in texts if k == pattern or (("*" in pattern) and Path(k).match(pattern))]
                    if not found:
                        print(f"ERROR {case.id}: source {pattern} is not a corpus file (or attachment)")
                        errors += 1
                    files += found
            for group in case.facts:
                if not any(has_fact(texts[f], alt) for f in files for alt in group):
                    print(f"ERROR {case.id}: no alternative of {list(group)} in {files}")
                    errors += 1
            if hints and case.facts:
                extra = [k for k in texts if k not in files and
                         all(any(has_fact(texts[k], alt) for alt in g) for g in case.facts)]
                if extra:
                    print(f"hint  {case.id}: facts also in {extra}")
        counts: dict[str, int] = {}
        for case in suite.cases:
            counts[case.category] = counts.get(case.category, 0) + 1
        refusals = sum(c.refuse for c in suite.cases)
        print(f"{suite_path.name}: {len(suite.cases)} cases ({refusals} refusals); "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"{len(texts)} texts read ({', '.join(k for k in texts if '#' in k)} as attachments); {errors} errors")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", nargs="+", type=Path, metavar="SUITE", help="check suites instead of building")
    ap.add_argument("--hints", action="store_true", help="with --check: unnamed files holding all facts")
    ap.add_argument("--dump", action="store_true", help="print the text read back from every file")
    args = ap.parse_args(argv)
    if args.dump:
        for name, text in corpus_texts().items():
            print(f"==== {name}\n{text}\n")
        return 0
    if args.check:
        return check(args.check, args.hints)
    write_corpus()
    return 0


if __name__ == "__main__":
    sys.exit(main())
