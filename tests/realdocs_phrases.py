"""Sentence templates for tests/realdocs.py: the sections a real posting or CV grows by.

Data, not logic, like training/synth_vocab.py (whose roles, skills, duties and wins fill the
``{...}`` slots). Each template is used at most once per document, so a long document is
longer because it says more, not because it says the same thing again.

Rules these texts keep, because the gateway's readers act on them (validators/evidence_jd.py,
evidence_profile.py, server/untrusted.py): no colons (a short "Label:" line opens a section),
no digits in headings, no angle brackets, no "N years of X" claims in CVs. Extra requirement
lines have no comma, "and", "or" or ";" (each would split them into short "must-haves" no CV
can show) and are over five words or soft, so the evidence reader lists them as unchecked.

Slots: company, industry, a_industry ("an insurance"), industry2, city, mode, title, a_title,
area, skill, skill2, tool, tool2 (capitalized skills: products, not practices), duty, duty2,
other, other2 (teams a role works with), channel, channel2, win, win2 (two different
achievements), outcome, n, n2, pct, lo, hi.
"""

from __future__ import annotations

ABOUT_US = (
    "{company} is {a_industry} company with offices in {city} and customers across the region.",
    "We started with a small team and a simple idea, and today more than {n}0 people work here.",
    "Our customers rely on us every day, so we care about doing the basics well.",
    "We are growing steadily and are funded for the next several years of that growth.",
    "Most of our teams are small, with clear owners and short paths to a decision.",
    "We publish our goals every quarter and review them openly with the whole company.",
    "In {industry}, trust is earned slowly, and we try to earn it with every release and call.",
    "We were named one of the best places to work in {city} last year.",
    "Our leadership team has spent decades in {industry} and still talks to customers weekly.",
    "We keep meetings short, write things down and make time for focused work.",
    "We measure ourselves by what our customers achieve, not by how busy we look.",
    "Last year we grew revenue by {pct}% while keeping customer satisfaction high.",
    "Our customer base has doubled in the past {n2} years, mostly through referrals.",
    "We run on plain processes, clear owners and honest numbers.",
    "People who join us tend to stay, and many of our leads started in junior roles here.",
)
ABOUT_ROLE = (
    "This role reports to the head of {area} and works closely with the {other} team.",
    "The position is {mode}, and you will have real ownership from your first month.",
    "The person in this role will shape how we approach {area} for the next few years.",
    "You will split your time between hands-on work and helping others do their best work.",
    "The position is new because demand for {area} work has outgrown the current team.",
    "We are looking for someone who enjoys solving practical problems with {skill}.",
    "You will become the go-to person for {skill2} questions across the company.",
    "The work is varied, and no two weeks look quite the same.",
)
DUTIES = (
    "Partner with the {other} team to plan work for the coming quarter.",
    "Keep documentation for {skill} work current so others can pick it up.",
    "Review work from peers and give clear, useful feedback.",
    "Track the results of your work and share them in a short monthly update.",
    "Help set team standards for {skill} and {skill2}.",
    "Take part in planning, estimates and retrospectives with the wider team.",
    "Spot recurring problems early and propose fixes before they grow.",
    "Train new team members on {skill2} during their first weeks.",
    "Report progress and risks to your manager in a weekly check-in.",
    "Represent the team in quarterly reviews with leadership.",
    "Answer questions from colleagues in {city} and in other offices.",
    "Help choose and evaluate new tools when the team needs them.",
    "Keep an eye on quality and raise concerns early.",
    "Support the {other2} team during busy periods and launches.",
    "Turn feedback from customers into concrete improvements.",
    "Estimate effort honestly and flag slips as soon as you see them.",
    "Share what you learn in a short write-up after each larger piece of work.",
    "Help the {other} team understand what your work means for them.",
    "Take a turn on the rota that covers urgent requests outside normal hours.",
    "Keep the backlog tidy so the most valuable work is always next.",
    "Join calls with customers now and then to hear their problems first hand.",
)
MUST_EXTRAS = (
    "Clear written communication with people outside your field",
    "The ability to plan your own week with little supervision",
    "A track record of finishing work that others depend on",
    "Comfort with changing priorities in a growing company",
    "Willingness to learn new tools as the team grows",
    "A collaborative approach to working with other teams",
    "Good judgment about when to ask for help",
    "A habit of writing down decisions for the rest of the team",
    "Experience explaining results to people who are not specialists",
    "Attention to detail in everything you hand over",
)
NICE_EXTRAS = (
    "Prior work at {a_industry} company of a similar size",
    "Experience mentoring junior colleagues on a growing team",
    "Examples of past work you can walk us through",
    "Time spent working directly with customers at some point in your career",
    "Comfort presenting to senior leaders from time to time",
    "Some exposure to budgeting for your own projects",
)
TEAM = (
    "You will join a team of {n} people led by our head of {area}.",
    "The team sits between the {other} and {other2} groups and works with both every week.",
    "Half of the team joined in the last year, so there is room to shape how we work.",
    "We pair every new joiner with a buddy who helps them find their way around.",
    "Team members come from agencies, startups and large companies, and learn from each other.",
    "We meet in person in {city} once a month for planning and a team lunch.",
    "Everyone on the team takes a turn running our weekly review.",
    "The team has shipped steadily for {n2} years and has very low turnover.",
)
FIRST_MONTHS = (
    "In your first month, you will meet the people you work with most and learn how our "
    "{area} work fits together.",
    "By the end of the second month, you will own part of the work to {duty}.",
    "By month three, you will have shipped your first improvement and shared the results.",
    "Within six months, you will be the person others ask about {skill}.",
    "Within your first year, you will help plan the next stage of {area} at {company}.",
    "Along the way, you will get regular feedback from your manager and your peers.",
)
HOW_WE_WORK = (
    "We write short plans before big pieces of work and review them together.",
    "We keep a public list of priorities so everyone knows what matters this quarter.",
    "Core hours are ten to three, and the rest of the day is yours to arrange.",
    "We protect two afternoons a week for focused work with no meetings.",
    "Decisions are made by the people closest to the work, with input from those affected.",
    "We run a short retrospective every two weeks and act on what we learn.",
    "We prefer small, frequent changes to big launches.",
    "New ideas are welcome from anyone, and we try most of them at a small scale first.",
    "We use {tool} and {tool2} every day and keep our practices documented.",
    "Feedback is given often, in private first, and always with examples.",
    "We celebrate finished work in a short note to the whole company every Friday.",
    "Most discussions happen in writing, so people in every time zone can take part.",
    "Mistakes are reviewed without blame, and the fix is shared with everyone.",
)
TOOL_USES = (
    "{skill}, used daily by most of the team.",
    "{skill}, which we adopted about {n2} years ago.",
    "{skill} for the work that matters most to customers.",
    "{skill}, shared with the {other} team.",
    "{skill}, with internal guides written by the team.",
    "{skill} in every planning cycle.",
    "{skill} as part of our quality checks.",
    "{skill} for reporting to leadership.",
    "{skill}, where most new joiners start.",
    "{skill}, which we are rolling out more widely this year.",
)
INTERVIEWS = (
    "A short call with a recruiter about the role, your goals and your questions.",
    "A conversation with the hiring manager about your past work.",
    "A practical exercise based on a real problem the team has solved, about {n2} hours long.",
    "A panel with {n} future colleagues, including someone from the {other} team.",
    "A final chat with a senior leader about how we work and what we value.",
    "We aim to give you an answer within two weeks of your first call.",
    "If you need any adjustments during the process, tell your recruiter and we will arrange them.",
)
GROWTH = (
    "A yearly learning budget for courses, books and conferences.",
    "A clear career framework with written expectations for each level.",
    "Twice-yearly reviews with concrete feedback and a plan for the next step.",
    "Mentoring from senior people in {area} and related fields.",
    "Room to move into leadership or to keep growing as a specialist.",
    "Internal talks every month where teams share what they have learned.",
    "Support to earn the certifications that matter for your work.",
    "A budget for one conference a year, travel included.",
    "Quarterly time set aside for a self-chosen improvement project.",
)
SUCCESS = (
    "Last year the team {win}, and this hire will help us build on that.",
    "In the same period the team also {win2}.",
    "We expect you to help the team {duty} with fewer handoffs.",
    "Success means colleagues trust your work and seek out your input.",
    "Success means the {other} team can rely on you for quick, clear answers.",
    "In a year, you will have improved at least one process the whole team uses.",
)
TYPICAL_WEEK = (
    "Monday planning with the team to agree on the week's priorities.",
    "Two or three focused days to {duty}.",
    "A working session with the {other} team on a shared project.",
    "A one-to-one with your manager about progress and support.",
    "Time to review work from colleagues and share what you know about {skill}.",
    "A short Friday demo where teams show what they finished.",
)
PAY = (
    "The base salary range for this role is ${lo},000 to ${hi},000 a year.",
    "The final offer depends on skills, experience and location.",
    "We review pay every year against market data.",
    "The role is also eligible for an annual bonus of up to {pct}% of base salary.",
)
PLACE = {
    "remote": "This is a remote role open to people who can work with teams in {city} hours.",
    "hybrid": "This is a hybrid role based in {city}, with two or three office days a week.",
    "on-site": "This role is based on site at our {city} location.",
}
SCHEDULE = (
    "Standard hours are Monday to Friday, with busy periods planned well in advance.",
    "Some travel to {city} is expected a few times a year for team events.",
    "We provide the equipment you need to work well from day one.",
)
MORE_BENEFITS = (
    "Wellness stipend of ${n}00 a year.",
    "Employee assistance program for you and your household.",
    "Annual company offsite.",
    "Paid volunteer days each year.",
    "Life and disability insurance.",
    "Employee referral bonus.",
    "Company laptop and home office setup.",
    "Sabbatical after five years with the company.",
    "Subsidized gym membership.",
    "Annual health check paid by the company.",
    "Extra paid days off between the winter holidays.",
)
WHY_US = (
    "Work that directly affects {industry} customers.",
    "A team that values clear thinking over long hours.",
    "Real ownership from your first month.",
    "A stable company with room to grow.",
    "Colleagues who share what they know.",
    "Leaders who explain the reasons behind decisions.",
    "A calm place to do the best work of your career.",
    "Customers who tell us when we get it right, and when we do not.",
)
EQUAL_OPPORTUNITY = (
    "{company} is an equal opportunity employer.",
    "We consider all qualified applicants without regard to race, color, religion, sex, sexual "
    "orientation, gender identity, national origin, age, disability or veteran status.",
)
EQUAL_MORE = (
    "If you need a reasonable accommodation during the application process, please tell us "
    "and we will help.",
    "Many people hesitate unless they meet every requirement, so please apply even if you "
    "match only part of this list.",
)
APPLY = (
    "Send your resume and a few lines about why this role interests you.",
    "We read every application and reply to everyone who applies.",
    "Applications close when the role is filled, so we encourage you to apply soon.",
)
PRODUCTS = (
    "Our main product helps {industry} teams plan, track and report their daily work.",
    "More than {n}00 organizations use it, from small local firms to national brands.",
    "We release improvements every week and a larger update every quarter.",
    "Customers choose us for reliability and for support that answers within hours.",
    "This year we are expanding into two new markets and adding a self-service plan.",
    "Our roadmap is shaped by a customer council that meets with us every quarter.",
)
VALUES = (
    "Say what you think, kindly and with reasons.",
    "Leave things better than you found them.",
    "Own the outcome, not just the task.",
    "Keep promises small and keep them.",
    "Ask for help early and offer it often.",
    "Put customers first when priorities conflict.",
)
WHO_YOU_ARE = (
    "You like to understand the reason behind a request before you start on it.",
    "You are calm under pressure and keep others informed when things go wrong.",
    "You enjoy teaching what you know and learning from people with other skills.",
    "You take pride in work that is finished, checked and easy for others to use.",
    "You are curious about how {industry} works and what customers need from it.",
    "You keep your commitments and say early when a plan needs to change.",
)
CHALLENGES = (
    "Demand for {area} work has grown faster than our processes, and some of them need a rethink.",
    "Several teams rely on work that is only partly documented today.",
    "We are replacing older tools with {tool} and need someone to lead the switch.",
    "Customers in {city} expect faster turnaround than we can offer today.",
    "The {other} team needs clearer, more regular updates from this function.",
)
ONBOARDING = (
    "Your first week is set aside for meeting the team and learning our tools.",
    "You will get a written onboarding plan with goals for your first ninety days.",
    "A buddy from another team will help with the questions nobody thinks to write down.",
    "You will shadow experienced colleagues before taking on work of your own.",
    "We check in at the end of your first month to see what we can do better.",
)
INCLUSION = (
    "We want our team to reflect the customers and communities we serve.",
    "Our employee groups are open to everyone and have a budget of their own.",
    "We publish our hiring and promotion data every year and act on what it shows.",
    "Every interviewer is trained in structured interviewing to keep decisions fair.",
)
FAQ_PLACE = {
    "remote": "Can I work from home? Yes, the role is fully remote.",
    "hybrid": "Can I work part of the week from home? Yes, two or three days a week.",
    "on-site": "Can I work from home? Not in this role, which needs you on site every day.",
}
FAQ = (
    "Is there a dress code? No, dress for the work you are doing that day.",
    "Do I need to meet every requirement? No, we hire for strengths and help with the rest.",
    "How long does the process take? Usually two to three weeks from the first call.",
    "Will I get feedback if I am not selected? Yes, if you reach the interview stage.",
    "Can I talk to someone on the team first? Yes, just ask your recruiter.",
)
PRIVACY = (
    "We use the information you send us only to consider you for this and similar roles.",
    "Your application is kept for up to two years unless you ask us to delete it sooner.",
    "You can ask to see, correct or delete your data at any time.",
    "We never sell applicant data or share it with third parties for marketing.",
)
CHECKS = (
    "Offers are subject to reference checks and, where the law allows, a background check.",
    "We will tell you before any check starts and explain what it covers.",
    "A record does not automatically rule anyone out; we look at each case individually.",
)
PAY_TRANSPARENCY = (
    "We share the pay range in every posting because we believe candidates deserve to know.",
    "Everyone at the same level and location is paid within the same band.",
)

# --- CVs -----------------------------------------------------------------------------------------
SUMMARY = (
    "Comfortable working with {skill} and {skill2} in fast-moving teams.",
    "Track record of measurable results, including a project that {win}.",
    "Enjoys turning messy problems into simple routines that others can follow.",
    "Has worked in {industry} and {industry2} settings.",
    "Looking for a role with more ownership of {area} work.",
    "Regularly mentors newer colleagues and writes clear documentation.",
    "Works well with {other} teams and senior stakeholders.",
    "Known for calm, careful work under deadline pressure.",
    "Brings a habit of measuring results before and after every change.",
)
#: Experience bullets: {duty} is a bare verb phrase ("build weekly SQL reports ..."). A CV uses
#: each at most twice, in different roles.
ACHIEVEMENTS = (
    "Used {tool} to {duty}, {outcome}.",
    "Helped {duty} for {n} regional teams, {outcome}.",
    "Stepped in to {duty} during a hiring freeze and {win}.",
    "Worked with {other} colleagues to {duty}; {win}.",
    "Introduced {tool} to the team, {outcome}.",
    "Mentored {n} colleagues in {skill2}, {outcome}.",
    "Led a {n}-person effort to {duty}, {outcome}.",
    "Set up a weekly review to {duty}, {outcome}.",
    "Wrote the team guide on how to {duty}.",
    "Chosen to {duty} for the {industry} accounts, {outcome}.",
    "Took over {skill} work after a reorganization and {win}.",
    "Cut manual work by {pct}% by using {tool2} to {duty}.",
    "Trained {n} new hires to {duty}.",
    "Presented results to leadership every quarter, {outcome}.",
    "Ran a pilot with {tool2} to {duty}, {outcome}.",
    "Volunteered to {duty} when the team lead was out, {outcome}.",
    "Reworked how the team would {duty}, {outcome}.",
    "Paired with the {other} team to {duty}, {outcome}.",
    "Documented how to {duty2} so that new colleagues could start in days.",
    "Automated part of the weekly routine to {duty} using {tool}.",
    "Handled a {pct}% rise in demand without extra headcount.",
    "Ran monthly sessions on {skill} for colleagues across {n} offices.",
    "Cleared a backlog of {n}0 open items in the first month.",
    "Built a simple weekly report on {skill} work that leadership now reads first.",
    "Agreed with {other} leads to {duty} on a shared schedule.",
    "Reduced rework by {pct}% by adding a short checklist before every handover.",
    "Took part in hiring {n} team members and onboarded each of them.",
    "Kept service levels steady through a {pct}% budget cut.",
    "Rolled out {tool} to {n} teams with no downtime.",
    "Answered {n}0 internal requests a month, most of them the same day.",
)
OUTCOMES = (
    "saving about {n} hours a week",
    "cutting errors by {pct}%",
    "raising team output by {pct}%",
    "reducing turnaround time by {pct}%",
    "improving satisfaction scores by {pct}%",
    "work that {n} teams now rely on",
    "finishing {n} weeks ahead of plan",
    "lowering costs by {pct}%",
    "with {pct}% fewer escalations",
    "freeing {n}0 hours of work each month",
)
PROJECTS = (
    "Built an internal guide to {skill} that {n} teams now use.",
    "Ran a pilot with {tool2} that became part of the standard process.",
    "Organized a monthly {area} meetup for colleagues with {n}0 regular attendees.",
    "Wrote {n} internal articles on lessons learned from {area} projects.",
    "Designed a checklist that cut onboarding questions by {pct}%.",
    "Led a cross-team review of how we {duty}, adopted by {n} teams.",
    "Built a small tracker for recurring {area} requests, {outcome}.",
    "Helped a local nonprofit {duty} as a weekend project.",
    "Rebuilt an old {area} process from scratch, {outcome}.",
    "Created a shared library of {skill2} examples used by {n} colleagues.",
    "Coached a colleague through a first {area} project that {win}.",
)
TRAINING = (
    "Completed an online course in {skill}.",
    "Workshop on presenting results to senior leaders.",
    "Internal leadership program for new team leads.",
    "Advanced course in {skill2}.",
    "Short course on writing clear documentation.",
)
AWARDS = (
    "Team award at {company} for a project that {win}.",
    "Recognized in a company all-hands for work that {win2}.",
    "Peer-nominated for the yearly mentoring award.",
)
VOLUNTEERING = (
    "Volunteer tutor at a local library on weekends.",
    "Mentor for students in a regional careers program.",
    "Organizer of a yearly charity run for a children's hospital.",
)
INTERESTS = "trail running, chess, community gardening, cooking"
STRENGTHS = "clear writing, planning, mentoring, stakeholder updates, prioritization"

# --- request bodies ------------------------------------------------------------------------------
NOTES = (
    "Team of {n} in the {area} group, reporting to the head of {area}.",
    "The title is {title}; the person should be able to work without close supervision.",
    "Location is {city}, {mode}.",
    "Pay range ${lo}k to ${hi}k plus the standard bonus.",
    "We want to start interviews within {n2} weeks and have someone in seat next quarter.",
    "The hiring manager cares most about practical results and clear communication.",
    "Please mention our learning budget and flexible hours.",
    "Keep the tone friendly and plain; no buzzwords.",
    "The last person in this role moved to the {other} team, so there is a handover.",
    "Mention that the team works closely with {other2} colleagues.",
    "We have a practical exercise in the interview loop, about {n2} hours long.",
    "Day to day the person will {duty}.",
    "They will also {duty2}.",
    "Most of the work uses {tool} and {tool2}.",
    "Please add our standard equal opportunity statement at the end.",
)
CONTEXT = (
    "We need {n2} hires by the end of next quarter.",
    "The recruiting budget for this search is about ${n}0,000.",
    "Similar searches at peer companies took about {n2} months.",
    "Most of our hires for related roles came from {channel}.",
    "Hiring managers have about {n} hours a week for interviews.",
    "The team is {mode} and based in {city}.",
    "Competition for {area} talent in {city} is strong this year.",
    "We have not yet used {channel2} for this role.",
    "Referrals from the team worked well for other roles, but volume is low.",
    "Candidates often drop out after the second interview.",
    "We want a more diverse shortlist than last time.",
    "The offer has to be approved by finance, which takes about a week.",
)
