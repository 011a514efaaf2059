/**
 * Synthetic training text for the PII tagger: presidio-research's sentence templates
 * (`presidio_templates.txt`, faker-style placeholders such as `{{person}}`, `{{address}}`,
 * `{{city}}`) filled with fresh `@faker-js/faker` values in many locales, labelled the way
 * presidio-research labels its synthetic v2 set (`presidio_synth_dataset_v2.json`, made by its
 * `PresidioSentenceFaker`: one span per placeholder, `{{building_number}} {{street_name}}` two
 * STREET_ADDRESS spans, `{{postcode}}` STREET_ADDRESS but `{{zipcode}}` ZIP_CODE, `{{job}}` and
 * `{{prefix_*}}` TITLE, …: {@link PLACEHOLDER_TYPES}, read off the v2 set's `masked` field).
 *
 * Why: the v2 set has 1,500 texts from 209 templates, so a tagger trained on it sees each
 * sentence frame with a handful of values; many more values per frame (multi-line and
 * military addresses, ALL-CAPS cities, lower-cased texts, invented company names — all forms of
 * the v2 set) teach the value shapes rather than the few values. Which templates may be filled
 * is an argument: with a by-template split only the training templates are (`train.ts`), so the
 * held-out sentence frames stay unseen.
 *
 * Deterministic: a seeded mulberry32 stream picks templates, locales and variants, and each
 * locale's `Faker` instance is seeded once. Needs `@faker-js/faker` (a dev dependency, training
 * time only; detection never loads this file).
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { repoRoot } from "../core/files.js";
import { seededRandom, type Random } from "../core/random.js";
import type { EntityType } from "./types.js";
import type { PiiExample } from "./dataset.js";

/**
 * Placeholder → the entity type presidio-research's v2 set gives its value (`null`: not private).
 * Read off the 1,500 v2 texts: each template placeholder zipped with the `{{TYPE}}` of the
 * example's `masked` text (all 41 placeholders of the templates agree in every example).
 */
export const PLACEHOLDER_TYPES: Readonly<Record<string, EntityType>> = {
  person: "PERSON",
  name: "PERSON",
  name_male: "PERSON",
  name_female: "PERSON",
  first_name: "PERSON",
  first_name_male: "PERSON",
  first_name_female: "PERSON",
  first_name_nonbinary: "PERSON",
  last_name: "PERSON",
  last_name_male: "PERSON",
  last_name_female: "PERSON",
  prefix: "TITLE",
  prefix_male: "TITLE",
  prefix_female: "TITLE",
  job: "TITLE",
  organization: "ORGANIZATION",
  address: "STREET_ADDRESS",
  street_name: "STREET_ADDRESS",
  building_number: "STREET_ADDRESS",
  secondary_address: "STREET_ADDRESS",
  postcode: "STREET_ADDRESS",
  zipcode: "ZIP_CODE",
  city: "GPE",
  country: "GPE",
  state_abbr: "GPE",
  credit_card_number: "CREDIT_CARD",
  iban: "IBAN_CODE",
  phone_number: "PHONE_NUMBER",
  email: "EMAIL_ADDRESS",
  url: "DOMAIN_NAME",
  ip_address: "IP_ADDRESS",
  ssn: "US_SSN",
  us_driver_license: "US_DRIVER_LICENSE",
  age: "AGE",
  year: "DATE_TIME",
  date_time: "DATE_TIME",
  date_of_birth: "DATE_TIME",
  day_of_week: "DATE_TIME",
  nationality: "NRP",
  nation_woman: "NRP",
  nation_plural: "NRP",
};

/**
 * Locales whose values fill the templates (faker locale names): Latin-script ones, plus Greek
 * (the v2 set has Greek city names). English ones come more often (the templates are English).
 */
export const SYNTHESIS_LOCALES: readonly string[] = [
  "en", "en_US", "en_GB", "en_AU", "en_CA", "en_IE", "en_IN", "en_NG", "en_ZA", "de", "de_AT", "de_CH", "fr", "fr_BE", "fr_CA", "fr_CH", "es", "es_MX", "it", "nl", "nl_BE", "pt_BR", "pt_PT", "pl", "cs_CZ", "sk", "hu", "fi", "sv", "da", "nb_NO", "ro", "hr", "sl_SI", "sr_RS_latin", "lv", "tr", "vi", "id_ID", "af_ZA", "el",
];

/** Default template file: ../shared/data/privacy/presidio_templates.txt from the repo root. */
export function defaultTemplatesPath(): string {
  return path.resolve(repoRoot(), "../shared/data/privacy/presidio_templates.txt");
}

/**
 * The templates of presidio-research's generator, index = the v2 set's `template_id` (line
 * number from 0); a literal `\n` in a template is a line break. Throws `Error` (with the file
 * name) when the file cannot be read.
 */
export function loadPresidioTemplates(file = defaultTemplatesPath()): string[] {
  let raw: string;
  try {
    raw = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read presidio templates ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return raw.split("\n").map((l) => l.replace(/\r$/, "").replace(/\\n/g, "\n"));
}

/** Options of {@link synthesizeExamples}. */
export interface SynthesizeOptions {
  /** Template ids that may be filled (indices into `templates`); `"all"`: every non-empty template. Required so that a held-out split is never filled by accident. */
  templateIds: readonly (string | number)[] | "all";
  /** Number of texts to generate. */
  count: number;
  /** Seed of the choices and of the faker instances. @default 7 */
  seed?: number;
  /** Templates, index = template id. @default {@link loadPresidioTemplates}() */
  templates?: readonly string[];
  /** Faker locales to draw values from. @default {@link SYNTHESIS_LOCALES} */
  locales?: readonly string[];
  /** Share of texts lower-cased as a whole (the v2 set: 5 %). @default 0.05 */
  lowerCaseShare?: number;
  /** Share of city names written in capitals (the v2 set's addresses: ≈ 30 %). @default 0.3 */
  upperCityShare?: number;
}

interface FakerLike {
  seed(seed: number): unknown;
  person: { firstName(sex?: string): string; lastName(sex?: string): string; middleName(sex?: string): string; prefix(sex?: string): string; suffix(): string; jobTitle(): string; jobType(): string };
  location: { city(): string; country(): string; state(o?: { abbreviated?: boolean }): string; zipCode(): string; buildingNumber(): string; street(): string; streetAddress(full?: boolean): string; secondaryAddress(): string };
  company: { name(): string };
  internet: { email(o?: { firstName?: string; lastName?: string }): string; url(): string; domainWord(): string; ip(): string; ipv6(): string };
  phone: { number(): string };
  finance: { creditCardNumber(): string; iban(): string };
  date: { weekday(): string };
}

interface FakerModule {
  Faker: new (o: { locale: unknown[] }) => FakerLike;
  allLocales: Record<string, unknown>;
}

function loadFaker(): FakerModule {
  const require = createRequire(import.meta.url);
  try {
    return require("@faker-js/faker") as FakerModule;
  } catch (error) {
    throw new Error("synthesizing training text needs @faker-js/faker (a dev dependency): npm install @faker-js/faker", { cause: error });
  }
}

const NATIONALITIES = [
  "American", "British", "English", "Scottish", "Welsh", "Irish", "Canadian", "Australian", "Mexican", "Brazilian", "Argentinian", "Chilean", "Colombian", "Peruvian", "Cuban", "German", "French", "Italian", "Spanish", "Portuguese", "Dutch", "Belgian", "Swiss", "Austrian", "Polish", "Czech", "Slovak", "Hungarian", "Romanian", "Bulgarian", "Greek", "Turkish", "Russian", "Ukrainian", "Finnish", "Swedish", "Norwegian", "Danish", "Icelandic", "Estonian", "Latvian", "Lithuanian", "Slovenian", "Croatian", "Serbian", "Bosnian", "Albanian", "Chinese", "Japanese", "Korean", "Vietnamese", "Thai", "Filipino", "Indonesian", "Malaysian", "Indian", "Pakistani", "Bangladeshi", "Iranian", "Iraqi", "Syrian", "Lebanese", "Israeli", "Jordanian", "Saudi", "Egyptian", "Moroccan", "Tunisian", "Algerian", "Nigerian", "Ghanaian", "Kenyan", "Ethiopian", "South African", "Cambodian", "Belizean", "Bruneian", "Ecuadorean", "Paraguayan", "Uruguayan", "Venezuelan", "Jamaican", "Greenlander", "Cypriot", "Maltese", "Luxembourgish", "Mongolian", "Nepalese", "Afghan", "Kazakh", "Uzbek", "Georgian", "Armenian",
];
const NRP_PLURAL = ["Christians", "Muslims", "Jews", "Hindus", "Buddhists", "Sikhs", "Catholics", "Protestants", "Shiites", "Sunnis", "Democrats", "Republicans", "Socialists", "Conservatives", "Liberals"];
const ORG_SUFFIX = ["Inc", "Inc.", "Corporation", "Corp", "LLC", "Ltd", "Group", "Analytics", "Labs", "Systems", "Solutions", "Data", "Partners", "Technologies", "Holdings", "Agency", "Foundation", "Bank", "Insights", "Media", "Consulting Group", "Capital", "Networks", "Health", "Research"];
const SYLLABLES = ["ex", "ver", "sion", "per", "sint", "da", "ta", "myne", "pan", "ji", "va", "leg", "is", "storm", "lo", "ca", "vore", "ci", "ty", "scan", "zx", "brl", "mi", "cro", "bilt", "ver", "da", "fe", "ro", "qu", "an", "dl", "kin", "tel", "go", "zen", "flux", "tra", "nex", "ora", "vi", "tal", "syn", "ap", "tix", "ly", "ro", "bo", "ha", "lix", "ar", "ion", "mar", "ket", "fin", "dex", "ux", "on", "io", "ra"];
const TLDS = ["com", "org", "net", "io", "co", "de", "fr", "it", "es", "nl", "be", "ch", "se", "dk", "fi", "pl", "cz", "hu", "ca", "com.au", "co.uk", "com.br", "com.cy", "uy", "pt"];
const MILITARY = ["AA", "AE", "AP"];
const JOBS = ["Packager", "Midwife", "Fumigator", "Teacher", "Nurse", "Engineer", "Accountant", "Lawyer", "Pharmacist", "Electrician", "Plumber", "Carpenter", "Surveyor", "Architect", "Chef", "Baker", "Soldier", "Pilot", "Librarian", "Dentist", "Technical writer", "X-ray technician", "Leasing consultant", "Employment manager", "Local transit bus driver", "Staff development specialist", "Laboratory animal technician", "Network and computer systems administrator", "Assistant property manager", "Rolling machine operator", "Labor relations director", "Sales representative", "Software developer", "Civil engineer", "Dental hygienist", "Financial analyst", "Social worker", "Truck driver", "Web developer", "Marketing manager", "Police officer", "Firefighter", "Paralegal", "Cashier", "Security guard"];

/** A filled template: its text and the spans of its private values. */
interface Filled {
  text: string;
  spans: PiiExample["spans"];
}

/**
 * Fills templates with faker values. Returns `count` examples, each `{ text, spans, group }`
 * with `group` = its template id (a number), spans in UTF-16 offsets (end exclusive). Only ids
 * in `templateIds` are used. Deterministic for given options. Throws `Error` when a template has
 * a placeholder outside {@link PLACEHOLDER_TYPES}, when no allowed template exists, or when
 * `@faker-js/faker` is missing.
 */
export function synthesizeExamples(options: SynthesizeOptions): PiiExample[] {
  const templates = options.templates ?? loadPresidioTemplates();
  const allowed = options.templateIds === "all" ? templates.map((_, i) => i) : [...new Set(options.templateIds.map((x) => Number(x)))].sort((a, b) => a - b);
  const ids = allowed.filter((i) => Number.isInteger(i) && i >= 0 && i < templates.length && templates[i].trim().length > 0);
  if (ids.length === 0) throw new Error("synthesizeExamples: no allowed template (templateIds empty or out of range)");
  for (const i of ids) {
    for (const m of templates[i].matchAll(/\{\{([^}]*)\}\}/g)) {
      if (!(m[1] in PLACEHOLDER_TYPES)) throw new Error(`synthesizeExamples: template ${i} has an unknown placeholder {{${m[1]}}}`);
    }
  }
  const seed = options.seed ?? 7;
  const rnd = seededRandom(seed);
  const { Faker, allLocales } = loadFaker();
  const localeNames = (options.locales ?? SYNTHESIS_LOCALES).filter((l) => l in allLocales);
  if (localeNames.length === 0) throw new Error("synthesizeExamples: none of the locales is known to @faker-js/faker");
  const fakers = new Map<string, FakerLike>();
  const fakerOf = (name: string): FakerLike => {
    let f = fakers.get(name);
    if (!f) {
      f = new Faker({ locale: [allLocales[name], allLocales.en, allLocales.base] });
      f.seed(seed * 1009 + localeNames.indexOf(name) + 1);
      fakers.set(name, f);
    }
    return f;
  };
  const english = localeNames.filter((l) => l === "en" || l.startsWith("en_"));
  const lowerShare = options.lowerCaseShare ?? 0.05;
  const upperCity = options.upperCityShare ?? 0.3;
  const out: PiiExample[] = [];
  for (let n = 0; n < options.count; n++) {
    const id = ids[Math.floor(rnd() * ids.length)];
    const locale = english.length && rnd() < 0.35 ? pick(rnd, english) : pick(rnd, localeNames);
    const ctx = new Values(fakerOf(locale), fakerOf(english[0] ?? locale), rnd, upperCity);
    const filled = fill(templates[id], ctx);
    if (rnd() < lowerShare) {
      const lower = filled.text.toLowerCase();
      if (lower.length === filled.text.length) filled.text = lower; // offsets keep (not so for "İ")
    }
    out.push({ text: filled.text, spans: filled.spans, group: id });
  }
  return out;
}

function pick<T>(rnd: Random, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)];
}

function fill(template: string, values: Values): Filled {
  let text = "";
  const spans: Filled["spans"] = [];
  let last = 0;
  for (const m of template.matchAll(/\{\{([^}]*)\}\}/g)) {
    text += template.slice(last, m.index);
    const name = m[1];
    const value = values.of(name).trim();
    const start = text.length;
    text += value;
    if (value.length > 0) spans.push({ start, end: start + value.length, type: PLACEHOLDER_TYPES[name] });
    last = m.index! + m[0].length;
  }
  text += template.slice(last);
  return { text, spans };
}

/** The values of one text: a locale's faker, an English one for English-only lists, and the choices stream. */
class Values {
  constructor(
    private readonly f: FakerLike,
    private readonly en: FakerLike,
    private readonly rnd: Random,
    private readonly upperCity: number,
  ) {}

  private chance(p: number): boolean {
    return this.rnd() < p;
  }

  private digits(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += Math.floor(this.rnd() * 10);
    return s;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  /** A faker call that falls back on English when the locale lacks the data. */
  private safe(get: (f: FakerLike) => string): string {
    try {
      const v = get(this.f);
      if (v && !v.includes("{{")) return v;
    } catch {
      // the locale has no such list
    }
    return get(this.en);
  }

  private sex(): "male" | "female" {
    return this.chance(0.5) ? "male" : "female";
  }

  private fullName(sex?: "male" | "female"): string {
    const s = sex ?? this.sex();
    const first = this.safe((f) => f.person.firstName(s));
    const last = this.safe((f) => f.person.lastName(s));
    const r = this.rnd();
    let name: string;
    if (r < 0.15) name = `${first} ${this.safe((f) => f.person.firstName(s)).charAt(0).toUpperCase()}${this.chance(0.5) ? "." : ""} ${last}`;
    else if (r < 0.2) name = `${first} ${this.safe((f) => f.person.middleName(s))} ${last}`;
    else if (r < 0.24) name = `${first} ${last} ${pick(this.rnd, ["II", "III", "Jr.", "Sr."])}`;
    else name = `${first} ${last}`;
    return this.chance(0.04) ? name.toLowerCase() : name;
  }

  private city(): string {
    const c = this.safe((f) => f.location.city());
    return this.chance(this.upperCity) ? c.toUpperCase() : c;
  }

  private country(): string {
    return this.chance(0.75) ? this.en.location.country() : this.safe((f) => f.location.country());
  }

  private street(): string {
    return this.chance(0.55) ? this.safe((f) => f.location.streetAddress(false)) : this.safe((f) => f.location.street());
  }

  private secondary(): string {
    const s = this.chance(0.7) ? this.en.location.secondaryAddress() : this.safe((f) => f.location.secondaryAddress());
    return this.chance(0.05) ? s.toLowerCase() : s;
  }

  private zip(): string {
    return this.safe((f) => f.location.zipCode());
  }

  /** A whole address in one of the v2 set's layouts (one line, several lines, military, PO box, a corner). */
  private address(): string {
    const r = this.rnd();
    const bn = this.safe((f) => f.location.buildingNumber());
    const st = this.street();
    if (r < 0.08) {
      const kind = pick(this.rnd, ["PSC", "Unit", "USNS", "USS", "USNV", "USCGC"]);
      if (kind === "PSC") return `PSC ${this.digits(4)}, Box ${this.digits(4)}\nAPO ${pick(this.rnd, MILITARY)} ${this.digits(5)}`;
      if (kind === "Unit") return `Unit ${this.digits(4)} Box ${this.digits(4)}\nDPO ${pick(this.rnd, MILITARY)} ${this.digits(5)}`;
      return `${kind} ${this.en.person.lastName()}\nFPO ${pick(this.rnd, MILITARY)} ${this.digits(5)}`;
    }
    if (r < 0.12) return `the corner of ${this.safe((f) => f.location.street())} and ${this.safe((f) => f.location.street())}`;
    if (r < 0.16) return `P.O. Box ${this.int(1, 9999)} ${this.safe((f) => f.location.street())}\n ${this.secondary()}\n ${this.city()}\n ${this.country()} ${this.zip()}`;
    if (r < 0.36) return `${bn} ${st}\n ${this.secondary()}\n ${this.city()}\n ${this.country()}${this.chance(0.6) ? " " + this.zip() : ""}`;
    if (r < 0.5) return `${bn} ${st}\n${this.city()}\n, ${this.safe((f) => f.location.state({ abbreviated: true }))}\n ${this.zip()}`;
    if (r < 0.64) return `${bn} ${st}${this.chance(0.5) ? " " + this.secondary() : ""} ${this.city()} ${this.country()}`;
    if (r < 0.78) return `${this.safe((f) => f.location.streetAddress(this.chance(0.4)))}, ${this.city()}, ${this.safe((f) => f.location.state({ abbreviated: true }))} ${this.zip()}`;
    if (r < 0.9) return `${st}\n${this.zip()} ${this.city()}${this.chance(0.5) ? "\n" + this.country() : ""}`;
    return `${st}, ${this.zip()} ${this.city()}`;
  }

  private orgName(): string {
    const r = this.rnd();
    if (r < 0.45) return this.safe((f) => f.company.name());
    let w = "";
    const k = this.int(2, 3);
    for (let i = 0; i < k; i++) w += pick(this.rnd, SYLLABLES);
    w = w.charAt(0).toUpperCase() + w.slice(1);
    if (r < 0.75) return w;
    if (r < 0.9) return `${w} ${pick(this.rnd, ORG_SUFFIX)}`;
    return `${w} ${this.en.person.lastName()} ${pick(this.rnd, ORG_SUFFIX)}`;
  }

  private url(): string {
    if (this.chance(0.4)) return this.en.internet.url();
    const word = (this.chance(0.5) ? this.orgName() : this.en.internet.domainWord()).replace(/[^A-Za-z0-9-]+/g, "");
    return `${pick(this.rnd, ["http://", "https://"])}${this.chance(0.5) ? "www." : ""}${word || "example"}.${pick(this.rnd, TLDS)}/`;
  }

  private pad(n: number): string {
    return String(n).padStart(2, "0");
  }

  /** The value of one placeholder (a name of {@link PLACEHOLDER_TYPES}). */
  of(name: string): string {
    const f = this.f;
    switch (name) {
      case "person":
      case "name":
        return this.fullName();
      case "name_male":
        return this.fullName("male");
      case "name_female":
        return this.fullName("female");
      case "first_name":
      case "first_name_nonbinary":
        return this.safe((x) => x.person.firstName(this.sex()));
      case "first_name_male":
        return this.safe((x) => x.person.firstName("male"));
      case "first_name_female":
        return this.safe((x) => x.person.firstName("female"));
      case "last_name":
        return this.safe((x) => x.person.lastName(this.sex()));
      case "last_name_male":
        return this.safe((x) => x.person.lastName("male"));
      case "last_name_female":
        return this.safe((x) => x.person.lastName("female"));
      case "prefix":
        return this.chance(0.8) ? this.en.person.prefix(this.sex()) : this.safe((x) => x.person.prefix(this.sex()));
      case "prefix_male":
        return this.chance(0.8) ? this.en.person.prefix("male") : this.safe((x) => x.person.prefix("male"));
      case "prefix_female":
        return this.chance(0.8) ? this.en.person.prefix("female") : this.safe((x) => x.person.prefix("female"));
      case "job": {
        const j = this.chance(0.5) ? pick(this.rnd, JOBS) : this.chance(0.6) ? this.en.person.jobTitle() : this.en.person.jobType();
        return this.chance(0.25) ? j.toLowerCase() : j;
      }
      case "organization":
        return this.orgName();
      case "address":
        return this.address();
      case "street_name":
        return this.street();
      case "building_number":
        return this.safe((x) => x.location.buildingNumber());
      case "secondary_address":
        return this.secondary();
      case "postcode":
      case "zipcode":
        return this.zip();
      case "city":
        return this.city();
      case "country":
        return this.country();
      case "state_abbr":
        return this.safe((x) => x.location.state({ abbreviated: true }));
      case "credit_card_number": {
        const c = this.en.finance.creditCardNumber();
        return this.chance(0.75) ? c.replace(/\D/g, "") : c;
      }
      case "iban": {
        const i = this.en.finance.iban();
        return this.chance(0.05) ? i.toLowerCase() : i;
      }
      case "phone_number":
        return this.safe((x) => x.phone.number());
      case "email":
        return this.chance(0.5) ? this.safe((x) => x.internet.email()) : `${this.safe((x) => x.person.firstName())}${this.safe((x) => x.person.lastName())}@${this.en.internet.domainWord()}.${pick(this.rnd, TLDS)}`.replace(/[^\p{L}\p{N}@.-]/gu, "");
      case "url":
        return this.url();
      case "ip_address":
        return this.chance(0.85) ? `${this.int(1, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}` : f.internet.ipv6();
      case "ssn":
        return `${this.digits(3)}-${this.digits(2)}-${this.digits(4)}`;
      case "us_driver_license": {
        const r = this.rnd();
        return r < 0.4 ? this.digits(7) : r < 0.7 ? pick(this.rnd, ["A", "B", "D", "F", "G", "K", "M", "S", "U", "W"]) + this.digits(this.int(7, 14)) : `${this.digits(4)}-${this.digits(2)}-${this.digits(4)}`;
      }
      case "age":
        return String(this.int(1, 99));
      case "year":
        return String(this.int(1930, 2025));
      case "date_time":
        return `${this.int(1970, 2024)}-${this.pad(this.int(1, 12))}-${this.pad(this.int(1, 28))} ${this.pad(this.int(0, 23))}:${this.pad(this.int(0, 59))}:${this.pad(this.int(0, 59))}`;
      case "date_of_birth":
        return `${this.int(1, 12)}/${this.int(1, 28)}/${this.int(1930, 2006)}`;
      case "day_of_week":
        return this.en.date.weekday();
      case "nationality": {
        const n = pick(this.rnd, NATIONALITIES);
        return this.chance(0.1) ? n.toLowerCase() : n;
      }
      case "nation_woman":
        return pick(this.rnd, NATIONALITIES).toLowerCase();
      case "nation_plural":
        return this.chance(0.3) ? pick(this.rnd, NRP_PLURAL).toLowerCase() : pick(this.rnd, NATIONALITIES).toLowerCase() + "s";
      default:
        throw new Error(`synthesizeExamples: unknown placeholder {{${name}}}`);
    }
  }
}
