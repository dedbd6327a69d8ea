"""Every hand-set number of the answer decision, in one place (the fitted ones are in answerability.json).

Each was set by reading answers on the tune halves (evals/README.md), never on a blind question.
"""
from __future__ import annotations

# -- composing (bot/answer.py) ---------------------------------------------------------------
MAX_OWNERS = 4  # owners one answer covers when a question names several ("教务处和政教处的电话")
PHONE_ROW_WORDS = 12  # a row giving only a phone keeps at most this many characters of labels ("机构名称办公电话")
RELATED_MAX = 3  # closest clauses a `related` answer quotes
SECOND_CLAUSE_RATIO = 0.8  # quote a second clause only when it ranks nearly as high as the first
SECTION_TOPIC_SHARE = 0.5  # a heading covering this share of the key terms makes its section the topic

# -- judging (bot/support.py) ----------------------------------------------------------------
VALUE_DEPTH = 3  # the clause stating a value asked for may rank this low and still be cited first
SUPPORT_DEPTH = 5  # the closest clauses asked whether they point at the party a who-answer names
# A clause lacking the value asked for is still shown as the closest when it holds this share of the
# question's key terms ("监控录像要存多少天" and a clause on keeping 监控录像); below it, it is off the subject.
SUBJECT_SHARE = 0.25

# -- who is responsible (bot/answering/owners.py) --------------------------------------------
SUBJECT_MAX = 12  # the longest owner name looked for at the start of a clause
# A who-question whose top clause names nobody looks this deep for one that does, down to this share of
# the top score; a near-equal runner-up that is owned wins over an unowned top clause.
WHO_DEPTH = 8
WHO_FLOOR = 0.5
NEAR_EQUAL = 0.8
LINK_DEPTH = 5  # a duty question's post is linked from this many top clauses
