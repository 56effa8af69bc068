"""Write the PDF files of the sample corpus (data/corpus/*.pdf) reproducibly with reportlab.

The corpus documents a fictional company (Brevik Robotics AS) and its Marten robotic lawn mowers,
so every answer in data/eval/gold.jsonl has to come from the documents, not from a model's world
knowledge. The gold set cites PDF facts by physical page ("page 3"), so each page below is built
explicitly and ends with a PageBreak: moving text between pages breaks the gold locators.

Run:  .venv/bin/python data/make_corpus.py
Output is byte-identical between runs (reportlab "invariant" mode fixes dates and document ids).
"""

from __future__ import annotations

from pathlib import Path

from reportlab import rl_config

# Fixed creation date and document id, so regenerating does not change the committed files.
rl_config.invariant = 1

from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

CORPUS = Path(__file__).resolve().parent / "corpus"

STYLES = getSampleStyleSheet()
H1 = STYLES["Heading1"]
H2 = STYLES["Heading2"]
BODY = ParagraphStyle("Body", parent=STYLES["BodyText"], fontSize=10, leading=13)
SMALL = ParagraphStyle("Small", parent=BODY, fontSize=8.5, leading=11)

# A page is a list of blocks: ("h1"|"h2"|"p"|"small", text) or ("table", rows).
Block = tuple[str, object]


def _table(rows: list[list[str]]) -> Table:
    cells = [[Paragraph(str(c), SMALL) for c in row] for row in rows]
    table = Table(cells, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6ee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _flowables(pages: list[list[Block]]) -> list:
    story: list = []
    for number, page in enumerate(pages):
        for kind, content in page:
            if kind == "table":
                story.append(_table(content))  # type: ignore[arg-type]
                story.append(Spacer(1, 4 * mm))
            else:
                style = {"h1": H1, "h2": H2, "p": BODY, "small": SMALL}[kind]
                story.append(Paragraph(str(content), style))
        if number < len(pages) - 1:
            story.append(PageBreak())
    return story


def write_pdf(name: str, title: str, subject: str, pages: list[list[Block]]) -> Path:
    path = CORPUS / name
    footer_text = f"Brevik Robotics AS - {title}"

    def footer(canvas, doc) -> None:  # reportlab page callback
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(20 * mm, 12 * mm, footer_text)
        canvas.drawRightString(190 * mm, 12 * mm, f"Page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=title,
        author="Brevik Robotics AS",
        subject=subject,
        creator="data/make_corpus.py",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=22 * mm,
    )
    doc.build(_flowables(pages), onFirstPage=footer, onLaterPages=footer)
    return path


# --------------------------------------------------------------------------------------------
# Marten M3 / M3 Pro user manual (6 pages)
# --------------------------------------------------------------------------------------------
MANUAL_PAGES: list[list[Block]] = [
    [  # page 1
        ("h1", "Marten M3 and M3 Pro Robotic Lawn Mower - User Manual"),
        ("p", "Document number BR-UM-M3-EN, revision C, published September 2024. This manual "
              "applies to the Marten M3 (model number MRT-M3-EU) and the Marten M3 Pro (model "
              "number MRT-M3P-EU) running MartenOS 4.2 or later. The Marten M5 X is described in "
              "its own Quick Start Guide and is not covered here."),
        ("h2", "About this manual"),
        ("p", "Read the whole manual, and in particular the safety instructions on the next "
              "page, before you install or operate the robot. Keep the manual for later "
              "reference and hand it over together with the product if you sell or lend it. Text "
              "marked <b>WARNING</b> describes a risk of injury; text marked <b>NOTE</b> gives "
              "advice that protects the product or your lawn."),
        ("h2", "What is in the box"),
        ("p", "Every Marten M3 series package contains the robot, the Harbor Base HB-2 charging "
              "station with its power supply, boundary wire, wire pegs, six wire connectors, a "
              "measuring gauge for the wire distance, nine spare blades with screws and this "
              "manual. The Marten M3 ships with 150 m of boundary wire and 200 wire pegs. The "
              "Marten M3 Pro ships with 250 m of boundary wire and 400 wire pegs, because it is "
              "designed for lawns up to twice as large."),
        ("h2", "Product overview"),
        ("p", "The robot is controlled with the buttons under the hatch on top (START, HOME and "
              "the red STOP button) or with the Brevik Garden app. The status LED on the front "
              "shows green while mowing, blue while charging and flashes red when an error code "
              "is active; the error code itself is shown in the app. The Marten M3 mows in a "
              "random pattern. The Marten M3 Pro additionally uses GPS-assisted SmartLine "
              "navigation, which mows in parallel lines and remembers which parts of the lawn "
              "are finished."),
        ("p", "Brevik Robotics AS, Trondheim, Norway. Customer support: +47 73 90 41 00, "
              "support@brevik-robotics.example."),
    ],
    [  # page 2
        ("h1", "Safety instructions"),
        ("p", "<b>WARNING:</b> The robot has sharp rotating blades. Never put hands or feet near "
              "or under the robot while it is switched on. Always press the red STOP button "
              "before you lift, carry or inspect the robot, and wear protective gloves when you "
              "handle the blades."),
        ("p", "The robot may only be operated and maintained by persons aged 16 or older who "
              "have read this manual. Children and pets must be supervised when the robot is "
              "mowing. Do not let children play with the robot or sit on it."),
        ("p", "The lift sensor stops the blade disc within 2 seconds when the robot is lifted or "
              "tilted, and the robot then reports error E107 and asks for the PIN code. The "
              "collision sensors in the body shell make the robot reverse and turn when it "
              "touches an obstacle higher than 8 cm."),
        ("p", "Do not operate the robot during a thunderstorm; disconnect the power supply of "
              "the Harbor Base and the boundary wire from the charging station if lightning is "
              "expected. The permitted ambient temperature for mowing is 4 to 40 &deg;C; the "
              "battery is only charged between 5 and 40 &deg;C."),
        ("p", "Never clean the robot with a high-pressure washer or running water under "
              "pressure. The M3 series is rated IPX5 and may be cleaned with a damp cloth and a "
              "soft brush. Do not use solvents."),
        ("p", "Only use original Brevik batteries and the supplied power supply. A damaged "
              "battery must not be charged; contact support. Dispose of the battery according to "
              "local regulations for lithium-ion batteries."),
        ("p", "<b>NOTE:</b> The robot must not be used on lawns steeper than the maximum slope "
              "given in the specifications (35% for the M3, 40% for the M3 Pro). On steeper "
              "slopes the robot stops with error E109."),
    ],
    [  # page 3
        ("h1", "Installation"),
        ("h2", "Planning the installation"),
        ("p", "Draw a sketch of your garden before you start. Mark the position of the Harbor "
              "Base, the route of the boundary wire, islands such as flower beds and trees that "
              "must be excluded, and narrow passages. A passage must be at least 60 cm wide "
              "between the wires so that the robot can pass through it. Typical installation "
              "time for a 800 m&sup2; garden is 2 to 4 hours."),
        ("h2", "Placing the Harbor Base"),
        ("p", "Place the Harbor Base HB-2 on level ground, close to a power outlet and in the "
              "shade if possible. The boundary wire must leave the charging station in a "
              "straight line for at least 3 m in front of the base, and there must be 1 m of "
              "free space on each side of the base. The base must not be placed on a slope of "
              "more than 5%."),
        ("h2", "Laying the boundary wire"),
        ("p", "Lay the boundary wire 30 cm from hard obstacles such as walls and fences, and 10 "
              "cm from a paved path that is level with the lawn, so that the wheels can run on "
              "the path and the lawn edge is cut. Use the measuring gauge in the box. Fix the "
              "wire with a peg every 75 cm. The total length of the wire loop must not exceed "
              "500 m. Join wires only with the supplied waterproof connectors; twisted and taped "
              "joints cause signal errors (E102)."),
        ("h2", "First start and PIN code"),
        ("p", "Connect the wire ends to the charging station, plug in the power supply and check "
              "that the LED on the Harbor Base lights green. Place the robot in the base and "
              "press START. At first start you must replace the factory PIN code 0000 with your "
              "own four-digit PIN. The robot then runs a guided calibration: it follows the "
              "boundary wire once around the lawn, which takes about 20 minutes for an average "
              "garden."),
    ],
    [  # page 4
        ("h1", "Operation and the Brevik Garden app"),
        ("h2", "Connecting to the app"),
        ("p", "Install the Brevik Garden app (iOS 16 or Android 11 or later) and create an "
              "account. The app first connects to the robot over Bluetooth; then you select your "
              "home Wi-Fi network. The robot only supports 2.4 GHz Wi-Fi networks with WPA2 or "
              "WPA3 encryption. The Marten M3 Pro also has a built-in LTE-M modem, so it stays "
              "reachable when the robot is out of Wi-Fi range."),
        ("h2", "Schedules"),
        ("p", "By default the robot mows every day from 09:00 to 17:00. In the app you can "
              "create up to 4 time windows per day. The robot calculates the required mowing "
              "time from the lawn area you entered during setup, and stays in the base once the "
              "lawn is finished. Manual start: press START and close the hatch within 10 seconds."),
        ("h2", "Rain sensor and rain delay"),
        ("p", "When the rain sensor detects rain, the robot returns to the Harbor Base. After "
              "the rain has stopped it waits for the rain delay before it mows again. The "
              "default rain delay is 180 minutes; it can be set between 0 and 720 minutes in the "
              "app under Settings &gt; Schedule."),
        ("h2", "ECO mode and Frost Guard"),
        ("p", "In ECO mode the boundary wire signal is switched off while the robot is charging "
              "and no schedule is active, which saves energy. Frost Guard (MartenOS 4.2 or "
              "later) keeps the robot in the base when the temperature is below the threshold, 4 "
              "&deg;C by default."),
        ("h2", "Cutting height"),
        ("p", "The cutting height is adjusted with the height knob under the hatch (M3) or in "
              "the app (M3 Pro, motorised height adjustment). For a new lawn, start at the "
              "highest setting and lower the height by one step per week."),
    ],
    [  # page 5
        ("h1", "Technical specifications"),
        ("p", "The following values apply to the European models. Measurement of noise according "
              "to EN 50636-2-107. Mowing time per charge is measured on flat, dry lawn at a "
              "cutting height of 40 mm."),
        ("table", [
            ["Property", "Marten M3", "Marten M3 Pro"],
            ["Model number", "MRT-M3-EU", "MRT-M3P-EU"],
            ["Battery", "Li-ion 18 V, 2.6 Ah", "Li-ion 18 V, 5.2 Ah"],
            ["Maximum lawn area", "800 m&sup2;", "1,600 m&sup2;"],
            ["Maximum slope", "35%", "40%"],
            ["Cutting width", "20 cm", "22 cm"],
            ["Cutting height", "25 to 60 mm (manual)", "20 to 65 mm (motorised)"],
            ["Mowing time per charge", "65 min", "120 min"],
            ["Charging time", "75 min", "90 min"],
            ["Noise level (measured)", "58 dB(A)", "56 dB(A)"],
            ["Weight", "9.4 kg", "10.1 kg"],
            ["Protection rating", "IPX5", "IPX5"],
            ["Navigation", "Boundary wire, random pattern", "Boundary wire + GPS (SmartLine)"],
            ["Connectivity", "Wi-Fi 2.4 GHz, Bluetooth 5.0", "Wi-Fi 2.4 GHz, Bluetooth 5.0, LTE-M"],
            ["Boundary wire / pegs included", "150 m / 200", "250 m / 400"],
        ]),
        ("h2", "Harbor Base HB-2"),
        ("p", "Input 100 to 240 V AC, 50/60 Hz; output 28 V DC, 2.5 A. Low-voltage cable between "
              "power supply and base: 10 m."),
    ],
    [  # page 6
        ("h1", "Maintenance and troubleshooting"),
        ("h2", "Maintenance"),
        ("p", "Check the blades every week and replace all three blades on the blade disc every "
              "6 weeks, or earlier if they are damaged. Always replace the blades and screws "
              "together so that the blade disc stays balanced; tighten the blade screws to 1.5 "
              "Nm. Clean the underside and the charging contacts monthly."),
        ("h2", "Winter storage"),
        ("p", "Before winter, clean the robot, charge the battery fully and store the robot "
              "indoors in a dry place at 5 to 15 &deg;C. Do not store the robot in an unheated "
              "shed below 0 &deg;C. The Harbor Base can stay outdoors, but unplug the power "
              "supply and store it indoors. We recommend a winter service at an authorised "
              "service centre every year."),
        ("h2", "Troubleshooting"),
        ("table", [
            ["Symptom", "Possible cause", "Action"],
            ["Status LED flashes red, app shows E102",
             "No boundary wire signal: base not powered or wire broken",
             "Check the green LED on the base; locate the break and join it with a connector."],
            ["Robot does not find the base (E110)",
             "Guide wire damaged or base moved",
             "Check the 3 m straight wire in front of the base."],
            ["Uneven cut, stripes",
             "Worn or damaged blades",
             "Replace all blades (part BR-1001)."],
            ["Robot stops with E107 on slopes",
             "Lift sensor too sensitive (MartenOS before 4.2.1)",
             "Update MartenOS to 4.2.1 or later."],
            ["Robot vibrates or is loud",
             "Blade disc unbalanced or screw loose",
             "Replace blades and screws; tighten to 1.5 Nm."],
        ]),
        ("h2", "Factory reset"),
        ("p", "To restore the factory settings, press and hold STOP and HOME together for 12 "
              "seconds until the LED flashes white. A factory reset requires the current PIN. If "
              "you have forgotten the PIN, contact customer support with the serial number and "
              "proof of purchase to receive a one-time reset code."),
    ],
]

# --------------------------------------------------------------------------------------------
# MartenOS release notes and limited warranty (3 pages)
# --------------------------------------------------------------------------------------------
RELEASE_WARRANTY_PAGES: list[list[Block]] = [
    [  # page 1
        ("h1", "MartenOS 4.2 Release Notes"),
        ("p", "MartenOS is the firmware of all Marten robotic lawn mowers. Updates are installed "
              "automatically over Wi-Fi or LTE-M during the update window you set in the app. "
              "This document covers versions 4.2.0 and 4.2.1, the 4.3.0 release and the Brevik "
              "limited warranty."),
        ("h2", "MartenOS 4.2.0 (released 15 October 2024)"),
        ("p", "<b>Edge Trim Plus:</b> the robot follows the boundary wire with an offset of 4 cm "
              "to cut closer to walls and paths. Frequency can be set to off, weekly or every "
              "run. <b>Frost Guard:</b> mowing is paused while the temperature is below a "
              "threshold (default 4 &deg;C). <b>Local API:</b> a local HTTPS interface on port "
              "8443 for Home Assistant and other home automation systems; disabled by default. "
              "<b>Improved return to base:</b> the robot now follows a random offset of up to 40 "
              "cm from the wire when returning, to avoid tracks in the lawn."),
        ("p", "Fixed: the schedule could shift by one hour after the change to daylight saving "
              "time. Fixed: battery percentage shown in the app jumped from 20% to 5%."),
        ("h2", "MartenOS 4.2.1 (released 28 November 2024)"),
        ("p", "Fixed: false E107 (lifted) alarms when mowing on slopes steeper than 30%. Fixed: "
              "on the Marten M3 Pro the LTE-M modem did not reconnect after a network outage "
              "longer than 6 hours. Improved: the M5 X RTK position is restored 30% faster after "
              "leaving tree cover. This release is recommended for all users and is required "
              "before upgrading to 4.3.0."),
    ],
    [  # page 2
        ("h1", "MartenOS 4.3.0 Release Notes"),
        ("p", "Released 18 February 2025 for Marten M3, Marten M3 Pro and Marten M5 X. Requires "
              "MartenOS 4.2.1 on the robot and Brevik Garden app 3.8 or later."),
        ("h2", "New features"),
        ("p", "<b>Zone scheduling:</b> divide the lawn into up to 6 zones, each with its own "
              "schedule and cutting height. <b>Matter support:</b> the Marten M3 Pro and the "
              "Marten M5 X can be added to Apple Home and other Matter controllers over Wi-Fi; "
              "the Marten M3 does not support Matter because of its smaller memory. <b>Night "
              "mowing:</b> on the Marten M5 X the headlight can be set to automatic, allowing "
              "mowing between 22:00 and 06:00 where local rules permit. <b>Service "
              "reminders:</b> the app reminds you to replace blades after 6 weeks of mowing."),
        ("h2", "Changes"),
        ("p", "The default anti-theft alarm duration was changed from 30 to 60 seconds. The "
              "IFTTT integration was removed; it had been discontinued on 31 December 2024."),
        ("h2", "Known issues"),
        ("p", "On the Marten M5 X, the map can rotate by a few degrees after the Lodestar L1 "
              "beacon has been moved. Workaround: run Settings &gt; Navigation &gt; Re-anchor "
              "map. A fix is planned for 4.3.1. On some Android 12 devices the zone editor opens "
              "with an empty map; restarting the app solves the problem."),
    ],
    [  # page 3
        ("h1", "Brevik Limited Warranty"),
        ("p", "Brevik Robotics AS warrants that Marten robotic lawn mowers are free from defects "
              "in material and workmanship when used as described in the user manual. This "
              "warranty is in addition to your statutory rights, which it does not limit."),
        ("h2", "Warranty periods"),
        ("table", [
            ["Product", "Private use", "Commercial use"],
            ["Marten M3 and Marten M3 Pro (robot)", "3 years", "12 months"],
            ["Marten M5 X (robot)", "5 years", "24 months"],
            ["Battery (all models)", "2 years", "12 months"],
            ["Harbor Base HB-2 and power supply", "3 years", "12 months"],
            ["Lodestar L1 RTK beacon", "2 years", "12 months"],
        ]),
        ("p", "Warranty+1: if you register the robot in the Brevik Garden app within 30 days of "
              "purchase, the robot warranty for private use is extended by one year. The "
              "warranty period starts on the date of purchase shown on the receipt."),
        ("h2", "Exclusions"),
        ("p", "The warranty does not cover wear parts (blades, blade screws, blade disc, wheels "
              "and wheel tread), damage caused by lightning, flooding or frost, damage from use "
              "on slopes beyond the specified maximum, or repairs by anyone other than Brevik or "
              "an authorised service centre. Batteries that still hold at least 70% of their "
              "rated capacity are considered to be free of defects."),
        ("h2", "Making a claim"),
        ("p", "Start a claim in the Brevik Garden app under Support &gt; Warranty or contact "
              "customer support with the serial number and proof of purchase. Brevik pays the "
              "shipping to and from the service centre for accepted claims. The target repair "
              "time is 10 working days from receipt of the product."),
    ],
]

# --------------------------------------------------------------------------------------------
# Marten M5 X quick start guide (2 pages) - a near-duplicate of the M3 manual on purpose
# --------------------------------------------------------------------------------------------
M5X_PAGES: list[list[Block]] = [
    [  # page 1
        ("h1", "Marten M5 X Quick Start Guide"),
        ("p", "Model number MRT-M5X-EU. The Marten M5 X is a wire-free robotic lawn mower: "
              "instead of a boundary wire it uses RTK-GNSS positioning with centimetre accuracy, "
              "corrected by the Lodestar L1 reference beacon."),
        ("h2", "In the box"),
        ("p", "Robot, Harbor Base HB-2 with power supply, Lodestar L1 RTK beacon with 10 m cable "
              "and wall bracket, 12 spare blades with screws, six ground screws for the base, "
              "quick start guide. No boundary wire is needed or included."),
        ("h2", "Step 1: Mount the Lodestar L1 beacon"),
        ("p", "Mount the beacon at least 1.8 m above the ground with a clear view of the sky; no "
              "more than 30% of the sky may be blocked by buildings or trees. Keep at least 3 m "
              "distance from metal walls and large windows, which reflect satellite signals. The "
              "lawn must be within 120 m of the beacon. The beacon is powered from the Harbor "
              "Base, so no extra outlet is needed."),
        ("h2", "Step 2: Place the Harbor Base"),
        ("p", "Place the base on level ground at the edge of the lawn with 2 m of free lawn in "
              "front and fix it with the six ground screws. The base must have a clear view of "
              "the sky as well, because the robot starts positioning while docked."),
        ("h2", "Step 3: Map your lawn with Drive-to-Map"),
        ("p", "Open the Brevik Garden app, add the robot and choose Drive-to-Map. Drive the "
              "robot around the edge of the lawn with the joystick in the app, at walking speed. "
              "Add no-go zones for ponds and flower beds the same way. You can store up to 10 "
              "maps, for example for a front and a back garden."),
    ],
    [  # page 2
        ("h1", "Marten M5 X specifications and first mow"),
        ("table", [
            ["Property", "Marten M5 X"],
            ["Battery", "Li-ion 25.2 V, 7.8 Ah"],
            ["Maximum lawn area", "3,500 m&sup2;"],
            ["Maximum slope", "45%"],
            ["Cutting width", "28 cm"],
            ["Cutting height", "20 to 70 mm (motorised)"],
            ["Mowing time per charge", "170 min"],
            ["Charging time", "110 min"],
            ["Noise level (measured)", "54 dB(A)"],
            ["Weight", "13.6 kg"],
            ["Protection rating", "IPX6"],
            ["Navigation", "RTK-GNSS, wire-free, systematic lines"],
            ["Connectivity", "Wi-Fi 2.4 GHz, Bluetooth 5.0, LTE-M"],
        ]),
        ("h2", "First mow"),
        ("p", "Before the first mow, replace the factory PIN 0000 with your own PIN and check "
              "the map preview in the app. The first mow is done at the highest cutting height "
              "of 70 mm. Thanks to its IPX6 rating, the M5 X underside may be rinsed with a "
              "garden hose, but never with a high-pressure washer."),
        ("h2", "Headlight and night mowing"),
        ("p", "The M5 X is the only Marten model with a headlight. From MartenOS 4.3.0 it can "
              "mow at night when the headlight setting is set to automatic."),
        ("p", "Safety instructions, maintenance and warranty information are the same as for the "
              "Marten M3 series, except that the robot warranty for private use of the M5 X is 5 "
              "years. See the full manual at brevik-robotics.example/manuals."),
    ],
]


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    written = [
        write_pdf("marten_m3_user_manual.pdf", "Marten M3 and M3 Pro User Manual",
                  "Safety, installation, operation, specifications and troubleshooting",
                  MANUAL_PAGES),
        write_pdf("martenos_release_notes_and_warranty.pdf",
                  "MartenOS Release Notes and Brevik Limited Warranty",
                  "MartenOS 4.2 and 4.3 release notes; warranty terms", RELEASE_WARRANTY_PAGES),
        write_pdf("marten_m5x_quick_start.pdf", "Marten M5 X Quick Start Guide",
                  "Installation of the wire-free Marten M5 X", M5X_PAGES),
    ]
    for path in written:
        print(path.relative_to(CORPUS.parent.parent))


if __name__ == "__main__":
    main()
