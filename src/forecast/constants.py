"""Every number the project relies on, in one place; the README quotes these tables."""

from __future__ import annotations

from dataclasses import dataclass

#: Probability mass of the highest-density intervals reported everywhere.
HDI_PROB = 0.94

#: Ids (hypotheses, sources, documents, claims, models…): lowercase letters, digits, '-', '_'.
ID_PATTERN = r"[a-z0-9][a-z0-9_-]*"
#: The analyst whose judgments are the evidence files' own (other analysts: judgments/<id>.yaml).
EVIDENCE_ANALYST = "evidence"
#: Bootstrap resamples of the claims behind Krippendorff's alpha, and the interval they give.
ALPHA_BOOTSTRAP = 1000
ALPHA_INTERVAL = 0.95

#: Output formats of every report: the text, the table as CSV, everything as JSON.
REPORT_FORMATS: tuple[str, ...] = ("table", "csv", "json")

#: Version of the layout of ``summary.json``; raised when a key changes meaning or goes away.
SUMMARY_SCHEMA_VERSION = 2

#: The update report lists at most this many of the claims that moved the posterior most, and
#: says how many it left out.
UPDATE_REPORT_MOVERS = 5

#: Fitting methods: NUTS with the exact cross-check, or the exact engine alone.
FIT_METHODS: tuple[str, ...] = ("nuts", "exact")


@dataclass(frozen=True)
class LikelihoodBand:
    """An ICD-203 likelihood expression: a half-open probability band and its point value."""

    word: str
    low: float
    high: float
    aliases: tuple[str, ...] = ()

    @property
    def point(self) -> float:
        """The value a judgment in this word stands for: the band's midpoint."""
        return round((self.low + self.high) / 2, 6)


#: ICD-203 likelihood words. Bands are half-open [low, high); the last is closed [0.95, 0.99].
#: Read as judgments, a word stands for its band's midpoint. Read back from a posterior,
#: a probability below 1 % is still "almost no chance" and one above 99 % "almost certain";
#: the report prints the number beside the word so the tails are never hidden.
ICD203_BANDS: tuple[LikelihoodBand, ...] = (
    LikelihoodBand("almost no chance", 0.01, 0.05, ("remote",)),
    LikelihoodBand("very unlikely", 0.05, 0.20, ("highly improbable",)),
    LikelihoodBand("unlikely", 0.20, 0.45, ("improbable",)),
    LikelihoodBand("roughly even chance", 0.45, 0.55, ("roughly even odds",)),
    LikelihoodBand("likely", 0.55, 0.80, ("probable",)),
    LikelihoodBand("very likely", 0.80, 0.95, ("highly probable",)),
    LikelihoodBand("almost certain", 0.95, 0.99, ("nearly certain",)),
)


@dataclass(frozen=True)
class AdmiraltyGrade:
    """Source reliability grade: a Beta prior on reporting reliability, a fixed judgment one."""

    grade: str
    label: str
    alpha: float
    beta: float
    judgment_reliability: float

    @property
    def mean(self) -> float:
        """Prior mean of the reporting reliability."""
        return self.alpha / (self.alpha + self.beta)


#: Admiralty (NATO AJP-2.1) source reliability. ``alpha``/``beta`` are the Beta prior on r,
#: the probability that a source's report of a fact tracks the truth. ``judgment_reliability``
#: is r for the source's opinions: fixed, never learned from its reported facts, and low,
#: because being right about events does not make a pundit's thesis evidence.
ADMIRALTY_GRADES: dict[str, AdmiraltyGrade] = {
    g.grade: g
    for g in (
        AdmiraltyGrade("A", "completely reliable", 18.0, 2.0, 0.40),
        AdmiraltyGrade("B", "usually reliable", 8.0, 2.0, 0.30),
        AdmiraltyGrade("C", "fairly reliable", 6.0, 4.0, 0.20),
        AdmiraltyGrade("D", "not usually reliable", 3.0, 5.0, 0.10),
        AdmiraltyGrade("E", "unreliable", 1.0, 9.0, 0.05),
        AdmiraltyGrade("F", "reliability cannot be judged", 2.0, 2.0, 0.10),
    )
}

#: Smallest "would say it anyway" rate accepted. Below it log(a) underflows the likelihood's
#: arithmetic; no analyst means a rate that small.
MIN_SAY_ANYWAY = 1e-6

#: Range of a Beta reliability prior's parameters. Outside it the quadrature nodes and the
#: sampler lose precision; Beta(0.01, 0.01) is already almost all mass at 0 and 1, and
#: Beta(10 000, ·) a fixed value in all but name (use a fixed ``reliability`` instead).
BETA_PARAMETER_RANGE = (0.01, 10_000.0)

#: Default "would say it anyway" rate a, by claim kind: how likely a source asserts the claim
#: when it is not tracking the truth.
SAY_ANYWAY_DEFAULTS: dict[str, float] = {"act": 0.2, "statement": 0.2, "opinion": 0.5}

#: Claim kinds. ``outcome`` is reserved for resolved forecast questions (no attestations).
CLAIM_KINDS: tuple[str, ...] = ("act", "statement", "opinion", "outcome")

#: Cap on one opinion claim's likelihood ratio, max_h P(attestations | h) / min_h, at the
#: sources' fixed judgment reliabilities. A thesis is weak evidence; a spec that makes it
#: strong is rejected.
OPINION_LR_CAP = 3.0

#: Cap on the combined likelihood ratio of all opinions of one source, for any pair of
#: hypotheses: a thesis split into five claims is still one opinion.
SOURCE_OPINION_LR_CAP = 4.0

#: Each P(yes | h) of a forecast question or indicator lies in this range: a forecast of
#: certainty scores minus infinity when wrong, and its outcome would rule hypotheses out.
FORECAST_RANGE = (0.01, 0.99)

#: Share of words two questions' texts share (Jaccard) from which entering both outcomes as
#: evidence is warned of: nested or overlapping questions are not independent given H.
OVERLAP_SIMILARITY = 0.5

#: Items the greedy "what to watch next" order picks at most: the outcomes of the picked items
#: are summed over exactly, and their combinations double with each pick.
GREEDY_INDICATORS_MAX = 12

#: Priors must sum to 1 within this tolerance.
PRIOR_SUM_TOLERANCE = 1e-9

#: Largest spec file (model or evidence YAML) accepted, in bytes.
MAX_SPEC_BYTES = 1_000_000

#: Largest source text accepted, in bytes.
MAX_DOCUMENT_BYTES = 2_000_000

#: Shingle (word 5-gram) Jaccard similarity above which two quotes from different documents
#: are reported as near-duplicates.
NEAR_DUPLICATE_SIMILARITY = 0.5
SHINGLE_WORDS = 5

#: Reserved key in a claim's ``judgments``: the value for every hypothesis not listed.
OTHERWISE_KEY = "otherwise"

#: Reserved keys in the judgments of a claim in a fact: P(claim true | fact holds) and
#: P(claim true | fact does not hold).
IF_TRUE_KEY = "if_true"
IF_FALSE_KEY = "if_false"

#: An unknown id or field is answered with "did you mean …?" when a known one is at least this
#: similar (difflib's ratio); below it, no guess is better than a wrong one.
SUGGESTION_CUTOFF = 0.6

#: Sampler defaults. NUTS samples only the sources' reliabilities (a handful of Beta
#: variables on the seed model, 20 on the 1000-claim benchmark), a small, well-conditioned
#: posterior: 500 tuning steps reach the same adaptation as 1000 there (r-hat 1.000, bulk ESS
#: above 3400 of 4000 draws, no divergences, and the exact engine agreeing to 1e-4, measured on
#: both), and every fit is still gated by its diagnostics and the exact cross-check.
DEFAULT_DRAWS = 1000
DEFAULT_TUNE = 500
DEFAULT_CHAINS = 4
DEFAULT_SEED = 20250705
TARGET_ACCEPT = 0.9
#: Chains sampled at once per core. Each chain waits for the main process to take every draw;
#: on 2 cores, 4 chains of the seed model at once took 3.5-4.2 s, two at a time 4.8-5.5 s.
CHAINS_PER_CORE = 2

#: Seconds a command waits for another update or fit to release the project.
DEFAULT_LOCK_TIMEOUT = 60.0

#: About how long PyTensor takes to compile the model on a machine with an empty cache.
COLD_COMPILE_SECONDS = 30

#: Diagnostics thresholds: above/below these a fit is flagged (and fails with --strict).
MAX_RHAT = 1.01
MIN_ESS_BULK = 400

#: Exact engine: components with at most MAX_QUADRATURE_DIM sampled reliabilities, or whose
#: exact Gauss-Jacobi grid has at most MAX_QUADRATURE_POINTS points, are integrated by
#: quadrature; larger ones by importance sampling with IMPORTANCE_DRAWS draws, certified only
#: above MIN_IMPORTANCE_ESS effective draws.
MAX_QUADRATURE_DIM = 3
MAX_QUADRATURE_POINTS = 200_000
IMPORTANCE_DRAWS = 200_000
MIN_IMPORTANCE_ESS = 1_000

#: Agreement between NUTS and the exact engine: |sampled - exact| must lie within this many
#: combined standard errors, or below the absolute floor (the error is 0 when p_H is constant).
AGREEMENT_SIGMAS = 3.0
AGREEMENT_FLOOR = 0.002

#: Above this many claim x hypothesis x draw cells the per-claim terms are stored at the
#: posterior-mean reliabilities only.
MAX_CLAIM_TERMS_CELLS = 1_000_000

#: The sampled graph sums into claims and facts with a dense 0/1 matrix up to this many cells
#: (one BLAS call per evaluation), and with a scatter-add above it.
DENSE_SUM_CELLS = 100_000

#: Robustness (``forecast sensitivity``): the prior powers a in P_a(h) = softmax(a log pi +
#: log Z); a change of the leader's or runner-up's ICD-203 word is a flip only if the
#: probability also moves by FLIP_MIN_POINTS percentage points; a change within
#: ROBUSTNESS_SIGMAS Monte Carlo standard errors of the base is not a flip.
PRIOR_POWERS: tuple[float, ...] = (0.5, 2.0)
FLIP_MIN_POINTS = 5.0
ROBUSTNESS_SIGMAS = 2.0
#: Random draws of every judgment within its band, for the "typical spread".
BAND_DRAWS = 200

#: Computed analytic confidence of the key judgment (the leader), stated apart from its
#: probability. Low if some single change (a removal, one claim at its band corner, a grade
#: step, a prior variant) alters the leader; or moves P(leader) across CONFIDENCE_LOW_BANDS
#: band boundaries and by CONFIDENCE_LOW_POINTS points; or the prior decides the leader; or
#: the exact engine is not certified; or the analysts' leaders differ. High if no single change
#: alters the leader, none moves P(leader) more than CONFIDENCE_HIGH_SLACK_POINTS outside its
#: band, and at least CONFIDENCE_HIGH_WITNESSES distinct counted witnesses graded A-C attest
#: acts or statements whose removal lowers P(leader). Moderate otherwise.
CONFIDENCE_LOW_BANDS = 2
CONFIDENCE_LOW_POINTS = 10.0
CONFIDENCE_HIGH_SLACK_POINTS = 2.0
CONFIDENCE_HIGH_WITNESSES = 3
CONFIDENCE_HIGH_GRADES: tuple[str, ...] = ("A", "B", "C")
#: Changes the fit and update reports list under the assessment (all are in sensitivity.csv).
ROBUSTNESS_REPORT_ROWS = 5
#: The joint corner tries every vertex of the facts' values outside the two-pass rule (if_true,
#: if_false, phi of a fact with if_true < if_false somewhere) up to this many values; beyond,
#: it searches them one at a time and says so.
JOINT_VERTICES_MAX = 10
