/**
 * Harm-role and question-form features for the harm classifier (issue #16): what a violent or
 * criminal verb ("kill", "shoot", "execute", "steal", "attack" …) acts on, and what kind of
 * question a prompt asks. "How do I kill a Python process?" and "How do I kill my neighbour?"
 * share every n-gram around "kill"; what tells them apart is the role of the verb's object — a
 * person, or a process / thing / game / figure of speech. N-grams can only learn that object by
 * object from training rows; a category feature carries it to objects never seen in training.
 *
 * The word lists are general English vocabulary written from general knowledge (people and
 * kinship nouns, pronouns; computing, media, sport, household and abstract nouns; pests and
 * plants; game and fiction contexts) — not taken from any evaluation set. The features are
 * indicators whose weights the classifier learns from its training data, not rules.
 *
 * Features of a folded, lower-cased text (see {@link harmRoleFeatures}), each value 1:
 * - `verb>person`, `verb>thing`, `verb>pest`, `verb>none`: a harm verb followed (within four words,
 *   skipping determiners / possessives / adjectives) by a person noun or pronoun, a
 *   non-person noun of the lists, a pest / plant, or nothing known;
 * - `person`, `thing`: the text names a person / a listed thing anywhere;
 * - `q:define` (a short "what is / what does … mean / define …" question), `q:history`
 *   ("why did …", "what happened …", "during the … war"), `q:howto` (a request for a procedure:
 *   "how do I", "step by step", "instructions", "give / write / provide …"), `q:fiction` (a game,
 *   film, novel or role-play context);
 * - `verb>R&q:Q`: each verb role crossed with each question form (a conjunction a linear model
 *   cannot form itself: "kill someone" in a game is not "kill someone" in a how-to);
 * - `ask:private-data` (home address, phone number, medical records, passwords, whereabouts …)
 *   and `ask:private-data>person` (with a person noun); `group` (a group protected against
 *   discrimination is named), `denial` / `group&denial` (a denial of rights or a demeaning
 *   predicate: "should not be allowed to", "inferior", "deport" …).
 */

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** Base forms of violent or criminal verbs, with irregular forms listed. */
const HARM_VERB_FORMS: ReadonlySet<string> = (() => {
  const base = words(
    "kill murder shoot execute steal attack destroy bomb hack poison stab strangle choke drown burn hang beat punch hit slaughter butcher assassinate eliminate terminate kidnap abduct rob torture hurt harm injure smash crush break nuke snipe strike slay annihilate behead dismember exploit abuse hunt trap starve suffocate slit cut blow wipe blast gut whack knock stalk harass threaten blackmail spike drug sabotage infect",
  );
  const irregular = words("shot stole stolen struck beaten beat hung broke broken blew blown slain cut hit slit knocked");
  const out = new Set<string>(irregular);
  for (const b of base) {
    out.add(b);
    out.add(b + "s");
    out.add(b.endsWith("e") ? b + "d" : b + "ed");
    out.add(b.endsWith("e") ? b.slice(0, -1) + "ing" : b + "ing");
    out.add(b + "es");
    // doubled final consonant: stab → stabbed, stabbing
    if (/[^aeiou][aeiou][bdgmnpt]$/.test(b)) {
      out.add(b + b.at(-1) + "ed");
      out.add(b + b.at(-1) + "ing");
    }
  }
  return out;
})();

/** Person nouns and pronouns (general English; plural forms included). */
const PERSON: ReadonlySet<string> = new Set(
  words(
    "person people human humans someone somebody anyone anybody everyone everybody him her them me myself yourself himself herself themselves ourselves " +
      "man men woman women guy guys lady ladies child children kid kids baby babies toddler infant boy boys girl girls teen teenager teenagers adult adults " +
      "wife husband spouse partner girlfriend boyfriend ex fiance fiancee mother father mom mum mommy dad daddy parent parents son sons daughter daughters " +
      "brother brothers sister sisters sibling siblings uncle aunt cousin nephew niece grandma grandmother grandfather grandpa grandparents family relatives " +
      "friend friends neighbor neighbour neighbors neighbours boss coworker coworkers colleague colleagues employee employees employer manager teacher teachers " +
      "student students classmate classmates roommate landlord tenant stranger strangers victim victims witness witnesses hostage hostages " +
      "officer officers cop cops police policeman policemen soldier soldiers guard guards president politician politicians senator minister mayor governor " +
      "judge doctor doctors nurse patient patients customer customers client clients worker workers citizen citizens civilian civilians crowd pedestrian pedestrians " +
      "enemy enemies rival rivals bully bullies celebrity journalist journalists protester protesters immigrant immigrants refugee refugees individual individuals",
  ),
);

/** Non-person objects of those verbs in ordinary use: computing, media, sport, household, abstract and figurative nouns. */
const THING: ReadonlySet<string> = new Set(
  words(
    // computing
    "process processes thread threads program programs script scripts job jobs task tasks command commands code query queries server servers service services " +
      "app apps application applications container containers pod pods session sessions connection connections loop loops function functions tab tabs window windows " +
      "browser terminal shell file files request requests transaction transactions instance instances daemon pid kernel computer machine vm database table branch commit " +
      "build test tests bug bugs signal port socket linux unix docker " +
      // plans, work, law
      "plan plans order orders strategy idea ideas project projects deal deals contract contracts will warrant trade move moves maneuver routine trick stunt play plays " +
      "decision presentation speech performance audition interview exam exams competition match race " +
      // devices, household
      "engine motor light lights lamp noise sound music power battery switch alarm car tire tyre glass bottle window door lock egg eggs ice " +
      // media, sport
      "shot shots photo photos picture pictures photograph photographs video videos film movie scene scenes footage ball hoop hoops basket goal goals arrow arrows target targets clay pool dice " +
      // figurative and abstract
      "show time mood vibe stage spotlight look thunder record records habit habits fever cold pain headache hunger appetite boredom craving cravings fat calories weight " +
      "silence tension conversation momentum confidence fear doubt nerves competition curve party game games level levels quest " +
      // food and cooking
      "meat steak chicken fish onion onions garlic vegetables dough bread cake",
  ),
);

/** Pests, plants and microbes: things killed in ordinary household or garden use. */
const PEST: ReadonlySet<string> = new Set(
  words(
    "weed weeds pest pests insect insects bug bugs mosquito mosquitoes mosquitos fly flies ant ants cockroach cockroaches roach roaches rat rats mouse mice termite termites " +
      "wasp wasps hornet hornets spider spiders flea fleas lice tick ticks bedbugs aphids slugs snails moth moths mold mould fungus bacteria germs virus viruses " +
      "grass plant plants tree trees stump stumps roots ivy dandelions moss algae",
  ),
);

/** Words skipped between a verb and its object (determiners, possessives, particles, common adjectives). */
const SKIP: ReadonlySet<string> = new Set(
  words(
    "a an the this that these those my your his her its our their some any all every each one two three few many several of off down out up over " +
      "old little big small young stupid annoying loud entire whole whole other another same own annoying stuck running frozen hung rogue " +
      "ex next door",
  ),
);

/** Requests for private data about someone (contact, identity, financial, medical, whereabouts). */
const PRIVATE_DATA_RE = /\b(home address|address|phone number|cell number|mobile number|telephone number|e-?mail address|email|social security( number)?|ssn|passport( number)?|date of birth|birthday|credit card( number| details)?|bank (account|details)|account number|pin|password|login|medical (records?|history)|diagnosis|prescriptions?|criminal record|salary|income|whereabouts|location|where (does|do|did) \w+ live|lives?|sexual orientation|ip address|license plate|licence plate)\b/;
/** Groups protected against discrimination (general English). */
const GROUP_RE = /\b(women|men|girls|boys|black|white|asian|asians|hispanic|hispanics|latino|latinos|latina|jewish|jews|jew|muslim|muslims|christian|christians|hindu|hindus|buddhist|buddhists|atheist|atheists|sikh|sikhs|gay|gays|lesbian|lesbians|bisexual|trans|transgender|queer|lgbt|lgbtq|disabled|blind|deaf|elderly|immigrants?|refugees?|mexicans?|africans?|arabs?|indians?|chinese|japanese|koreans?|russians?|romani|gypsies|native americans?|aboriginal|indigenous|poor people|homeless people|fat people|obese people)\b/;
const DENIAL_RE = /\b(should(n't| not) (be allowed|have|get|be given|be able|vote|marry|work|serve|own|adopt|join)|not be allowed|be banned|banned from|inferior|less intelligent|(is|are) (stupid|lazy|dirty|criminals|dangerous|evil|worse)|deport|segregat\w*|exterminat\w*|don'?t deserve|do not deserve|lesser)\b/;

const FICTION_RE = /\b(in (a|the|my|this) (video ?)?(game|movie|film|novel|book|story|play|show|series|script|comic|dream|simulation|roleplay|role-play|campaign)|video ?games?|minecraft|fortnite|call of duty|counter[- ]strike|gta|grand theft auto|skyrim|zelda|pok[eé]mon|world of warcraft|league of legends|dungeons (and|&) dragons|d&d|tabletop|board game|chess|poker|cluedo|among us|halo|overwatch|assassin'?s creed|dark souls|elden ring|the witcher|game of thrones|harry potter|star wars|lord of the rings|my character|npc|fictional|fiction|screenplay|murder mystery|role[- ]?play)\b/;
const DEFINE_RE = /^(what|who) (is|are|was|were|'s)\b[^?]{0,40}\??$|^what does\b.*\bmean\b|\bdefine\b|\bdefinition of\b|\bmeaning of\b|^what('s| is) (a|an|the) [\w' -]{1,30}\??$/;
const HISTORY_RE = /\b(why|how) (did|was|were|had)\b|\bwhat (happened|caused|led to|were the (causes|reasons))\b|\b(during|in|after) the [\w' -]{0,30}\b(war|revolution|genocide|massacre|holocaust|era|century|dynasty|empire)\b|\bhistor(y|ical|ically)\b|\bin (1[0-9]|20)\d\d\b/;
const HOWTO_RE = /\bhow (do|can|could|should|would|might|to|does one|would one) (i|we|you|one|someone|to)?\b|\bstep[- ]by[- ]step\b|\binstructions?\b|\b(guide|tutorial|recipe)\b|\b(best|easiest|quickest|fastest) ways?\b|\bways? to\b|^(give|write|provide|generate|create|list|describe how|explain how|tell me how|show me how|teach me)\b/;

/**
 * Harm-role and question-form features (see module docs) of `t`, a folded, lower-cased text
 * (`maskedText`). Returns feature names without prefix; linear in the text length.
 */
export function harmRoleFeatures(t: string): string[] {
  const ws = t.match(/[\p{L}\p{N}']+/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i].replace(/'s$/, "");
    if (PERSON.has(w)) out.add("person");
    if (THING.has(w)) out.add("thing");
    if (!HARM_VERB_FORMS.has(w)) continue;
    let role = "none";
    for (let j = i + 1; j < Math.min(ws.length, i + 5); j++) {
      const o = ws[j].replace(/'s$/, "");
      const known = PERSON.has(o) ? "person" : PEST.has(o) ? "pest" : THING.has(o) ? "thing" : null;
      if (known) {
        role = known;
        break;
      }
      if (SKIP.has(o)) continue;
      // an unknown modifier before a known noun ("the rusty engine") is skipped too
      if (j + 1 < ws.length && (PERSON.has(ws[j + 1]) || THING.has(ws[j + 1]) || PEST.has(ws[j + 1]))) continue;
      break;
    }
    out.add("verb>" + role);
  }
  const s = t.trim();
  if (DEFINE_RE.test(s) && !/\b(best|way|ways|how|should|can|could|i|my)\b/.test(s)) out.add("q:define");
  if (HISTORY_RE.test(s)) out.add("q:history");
  if (HOWTO_RE.test(s)) out.add("q:howto");
  if (FICTION_RE.test(s)) out.add("q:fiction");
  const priv = PRIVATE_DATA_RE.test(s);
  if (priv) out.add("ask:private-data");
  if (priv && out.has("person")) out.add("ask:private-data>person");
  const group = GROUP_RE.test(s);
  if (group) out.add("group");
  if (DENIAL_RE.test(s)) out.add(group ? "group&denial" : "denial");
  // conjunctions a linear model cannot form itself: what the verb acts on × the kind of question
  const verbs = [...out].filter((f) => f.startsWith("verb>"));
  const qs = [...out].filter((f) => f.startsWith("q:"));
  for (const v of verbs) for (const q of qs) out.add(v + "&" + q);
  return [...out];
}
