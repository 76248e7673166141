"""Stand-ins for two real guidelines, written for the alignment tests (none of it is taken from
any guideline): each evidence statement of a bundled digest is said again in other words,
among front matter, a contents list, boilerplate and neighbouring recommendations on other
topics, the way a real document buries it.

A paragraph is a string, or ``(text, key)`` when it is the true passage of the digest
statements whose text starts with ``key``.
"""
from __future__ import annotations

NICE = "national_institute_for_health_and_care_excellence_obsessive-compulsive_2005"
APA = "american_psychological_association_ethical_2017"

_NICE_TITLE = "Compulsions and Appearance Worries: Care Guidance (synthetic test document)"
_APA_TITLE = "Code of Professional Conduct for Psychologists (synthetic test document)"

NICE_SECTIONS = [
    ((_NICE_TITLE, "Contents"), [
        "1 Guiding principles of care 3; 1.1 Helping people understand their symptoms 3; 1.2 Shared "
        "choices about treatment 4; 2 Psychological treatment 5; 2.1 Exposure with ritual prevention 5; "
        "2.2 Ways of delivering therapy 6; 3 Medicines 7; 4 Risk, settings and admission 8; 5 Religion and "
        "culture 9; References 10",
    ]),
    ((_NICE_TITLE, "About this guideline"), [
        "This synthetic guidance was generated for software testing. It describes how care for people "
        "with obsessional problems and worries about their appearance might be organised. It is not "
        "clinical advice and must not be used to treat anyone.",
    ]),
    ((_NICE_TITLE, "1 Guiding principles of care", "1.1 Helping people understand their symptoms"), [
        "1.1.1 Many people with these problems hide them for years because they are embarrassed. Staff in "
        "every service should be alert to this and gently enquire about concealed difficulties.",
        ("1.1.2 Healthcare workers should help the individual see that the unwanted thoughts and repetitive "
         "acts happen against their will and are not a personal failing. They should also make clear that "
         "nearly every person has odd or disturbing ideas that pop into the mind, which helps the individual "
         "grasp how the problem arises and keeps going, and lessens embarrassment.",
         "Recommendation 1.1.1.1"),
        "1.1.3 Written material about the condition should be available in accessible formats and in the "
        "main languages spoken locally.",
    ]),
    ((_NICE_TITLE, "1 Guiding principles of care", "1.2 Shared choices about treatment"), [
        ("1.2.1 Patients, and where they wish their families, should take part in choosing their care together "
         "with the clinician. Take account of what the individual wants: where daily functioning is only "
         "slightly affected, or where the individual favours it, start with a brief, less intensive "
         "psychological intervention.",
         "People with OCD or BDD have the right"),
        ("1.2.2 Give patients and carers understandable information about the conditions and about what each "
         "treatment option, drugs included, may offer, what harm it might cause and which unwanted effects are "
         "common, so that they can make an informed choice.",
         "Professionals give clear information"),
        ("1.2.3 Building a warm and trusting bond with the patient helps them reveal intrusive ideas they find "
         "humiliating and keep going with a therapy that can be hard work.",
         "A trusting, respectful relationship"),
        "1.2.4 Continuity matters: wherever possible the same clinician should stay involved from assessment "
        "to the end of treatment, and records should move with the patient between services.",
    ]),
    ((_NICE_TITLE, "2 Psychological treatment", "2.1 Exposure with ritual prevention"), [
        ("2.1.1 The main talking therapy is a structured cognitive and behavioural programme built around "
         "exposure combined with prevention of the ritual. Step by step, the individual confronts the "
         "situations and ideas that frighten them while holding back from the usual checking, washing or "
         "other ritual, learning that the feared outcome does not happen, so the loop of worry and ritual "
         "is broken.",
         "The core psychological treatment"),
        "2.1.2 Therapists delivering this programme should receive regular supervision and should have been "
        "trained in the method.",
        "2.1.3 Relatives are usually advised not to join in rituals or keep offering comfort about the feared "
        "outcome, because that keeps the cycle alive.",
    ]),
    ((_NICE_TITLE, "2 Psychological treatment", "2.2 Ways of delivering therapy"), [
        ("2.2.1 Brief psychological help with no more than ten hours of clinician contact per patient can be "
         "offered using structured self-guided books or computer programs, through calls over the phone, "
         "or in small groups. More intensive therapy takes place face to face, one to one, with the "
         "therapist in the room.",
         "Low-intensity CBT including exposure"),
        ("2.2.2 If someone is unable to come to the clinic, for instance because hoarding is severe or fear of "
         "germs keeps them indoors, consider treating them in their own dwelling.",
         "Where a person cannot attend a clinic"),
        ("2.2.3 Most people receive care from community teams and ambulatory clinics; those whose needs are "
         "more complicated are referred on to a specialist service.",
         "Most treatment is delivered in outpatient"),
    ]),
    ((_NICE_TITLE, "3 Medicines"), [
        ("3.1 When symptoms are more severe, offer a selective serotonin reuptake inhibitor either instead of "
         "psychological therapy or combined with it. Prescribers should check for unwanted effects, adjust "
         "the dose and regularly review whether the drug is helping.",
         "For more severe OCD"),
        ("3.2 Treatments carry dangers when used wrongly. Antidepressant drugs can have harmful effects, so "
         "people who start them need to be watched closely at first. Cosmetic surgery or other procedures to "
         "alter the body, offered to people preoccupied with a perceived flaw in place of proper treatment, "
         "may worsen their condition.",
         "Care can do harm if applied wrongly"),
        "3.3 Children and young people should only be prescribed medicines after assessment by a specialist "
        "in child and adolescent mental health.",
    ]),
    ((_NICE_TITLE, "4 Risk, settings and admission"), [
        ("4.1 As part of every assessment, ask directly about thoughts of ending one's life and weigh up the "
         "danger of self-harm; this is especially important for people preoccupied with their appearance, "
         "who are at high risk of taking their own life.",
         "Assessment includes asking about suicidal thoughts"),
        ("4.2 Some people preoccupied with their looks, and some with obsessional problems who have little "
         "insight, hold their beliefs about their appearance or about the disasters they fear with a "
         "conviction of delusional strength. Clinicians should not agree with these beliefs but should "
         "still offer the full range of help.",
         "In BDD and in OCD with poor insight"),
        ("4.3 People whose illness is most severe and disabling, or who are in serious danger, may need "
         "admission to hospital in a specialist ward for intensive care.",
         "For the most severe and disabling cases"),
        "4.4 On discharge, agree a plan with the person for what to do if symptoms return and how to get "
        "back in touch with the service quickly.",
    ]),
    ((_NICE_TITLE, "5 Religion and culture"), [
        ("5.1 Where it is difficult to separate someone's religious observance from obsessional symptoms, "
         "clinicians may, if the person agrees, ask a faith leader or a respected member of their community "
         "for advice. Care should be sensitive to the person's beliefs and cultural background, and be "
         "provided fairly to everyone.",
         "When it is hard to tell religious practice"),
    ]),
    ((_NICE_TITLE, "References"), [
        "Example, A. and Sample, B. (2001) A synthetic study of repetitive behaviour. Journal of Test "
        "Documents 1, 1-10.",
    ]),
]

APA_SECTIONS = [
    ((_APA_TITLE, "Contents"), [
        "Introduction 1; General principles 2; Principle B Fidelity 2; Principle D Justice 3; Principle E "
        "Respect for rights and dignity 3; Standard 3 Human relations 4; Standard 4 Privacy and "
        "confidentiality 5; Standard 10 Therapy 6",
    ]),
    ((_APA_TITLE, "Copyright"), [
        "Copyright (c) 2026 Synthetic Test Association. All rights reserved. Generated for software tests; "
        "not a real code of conduct.",
    ]),
    ((_APA_TITLE, "Introduction"), [
        "This code sets out aspirational principles and enforceable standards for the work of psychologists "
        "in research, teaching, assessment and practice. Membership bodies may adopt it as their own.",
    ]),
    ((_APA_TITLE, "General principles", "Principle B: Fidelity and responsibility"), [
        ("Psychologists form working relationships grounded in confidence and honesty with those they serve. "
         "They keep their promises, accept responsibility for their conduct, and so earn the reliance on "
         "which any helping relationship rests.",
         "Psychologists build relationships of trust"),
    ]),
    ((_APA_TITLE, "General principles", "Principle D: Justice"), [
        ("Fairness means that all persons can obtain and benefit from what psychology offers, at the same "
         "standard of care. Psychologists take care that their own prejudices, or the limits of their "
         "competence, never lead to unjust treatment.",
         "Everyone is entitled to equal access"),
    ]),
    ((_APA_TITLE, "General principles", "Principle E: Respect for rights and dignity"), [
        ("Psychologists honour the worth of every individual and each person's right to run their own life, "
         "including the freedom to make choices about their own care.",
         "Psychologists respect the dignity and worth"),
        ("This principle also protects personal privacy and confidential information, and asks psychologists "
         "to be aware of and respect differences among individuals and groups, such as those linked to age, "
         "gender, ethnicity, culture, faith, disability, language or sexual orientation.",
         "The same principle covers people's rights to privacy"),
    ]),
    ((_APA_TITLE, "Standard 2: Competence"), [
        "2.02 In an emergency, when no other qualified help is available, psychologists may offer services "
        "outside their usual competence for as long as the emergency lasts.",
    ]),
    ((_APA_TITLE, "Standard 3: Human relations"), [
        ("3.01 In their work psychologists do not discriminate unfairly against anyone on the basis of a "
         "personal characteristic protected by law. 3.04 Psychologists take reasonable steps to avoid "
         "hurting the people they work with.",
         "Standard 3.01 forbids unfair discrimination"),
        ("3.10 When psychologists provide assessment, therapy, counselling or consulting, they obtain the "
         "agreement of the individual, having explained the service in words the individual can follow.",
         "Standard 3.10 requires psychologists"),
        "3.12 Psychologists plan ahead for the orderly handling of services if they fall ill, move away or "
        "otherwise become unavailable.",
    ]),
    ((_APA_TITLE, "Standard 4: Privacy and confidentiality"), [
        ("4.01 Psychologists protect the confidential material they obtain through their work. 4.05 They may "
         "share such material without agreement only where the law requires or allows it, for example to "
         "protect the client or other people from serious harm.",
         "Standards 4.01 to 4.07"),
    ]),
    ((_APA_TITLE, "Standard 6: Record keeping and fees"), [
        "6.04 Psychologists agree the financial arrangements with clients as early as possible and do not "
        "misrepresent their charges.",
    ]),
    ((_APA_TITLE, "Standard 10: Therapy"), [
        ("10.01 As early as is feasible in the relationship, psychologists tell clients about the nature and "
         "anticipated course of therapy, the charges, any involvement of third parties and the limits on "
         "confidentiality, and they obtain the client's agreement.",
         "Standard 10.01 requires informed consent"),
        ("10.01b When a treatment is new and there are no established methods for it, psychologists explain "
         "to the client that it is still being developed, describe its possible dangers and the other "
         "treatments on offer, so the client can decide whether to take part.",
         "When a treatment has no generally recognised"),
        ("10.01c Clients get the opportunity to raise questions and have them answered, and their decision "
         "whether to start or to carry on with therapy is respected.",
         "Consent to therapy gives the client"),
        "10.10 Psychologists end therapy when the client no longer needs it or is not benefiting, and offer "
        "suggestions of other providers before ending.",
    ]),
]

DOCUMENTS = {NICE: NICE_SECTIONS, APA: APA_SECTIONS}


def plain_sections(sections) -> list:
    """The sections as pdfgen takes them (heading path, paragraph texts)."""
    return [(path, [p[0] if isinstance(p, tuple) else p for p in paras]) for path, paras in sections]


def truths(sections) -> dict[str, str]:
    """Statement key (start of the digest text) -> the paragraph that says it."""
    return {p[1]: p[0] for _, paras in sections for p in paras if isinstance(p, tuple)}
