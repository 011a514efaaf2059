/**
 * The per-user memory of personalization (issue #14, item 4), in an embedded SQLite database
 * (better-sqlite3) on the device: facts a user told (extracted from their own messages by
 * `src/strategies/personalize/extractor.ts`), each with its embedding vector, for retrieval by
 * cosine similarity; plus the links from traces to the user they served and that user's feedback,
 * for per-user router calibration (`src/strategies/personalize/calibration.ts`).
 *
 * Identity: a user is (tenant, user) — the gateway API key's name and the request's `user` field.
 * Every read and write takes both; no statement reads across owners, so the same `user` string
 * under another key is another user. Requests without a `user` have no memory (the strategies
 * never call the store for them).
 *
 * Bounds: at most `maxPerUser` memories per user (the least recently used — retrieved or told —
 * are evicted first); at most `maxLinks` trace links (oldest pruned). Right to be forgotten:
 * {@link MemoryStore.forget} deletes everything of one user (memories, links, feedback) in one
 * transaction; {@link MemoryStore.forgetEntry} one memory.
 *
 * A file of its own (default `.tandem/personal.sqlite`), not the trace database: traces may live
 * in PostgreSQL shared by replicas, personal memory stays on the device; deleting a user is one
 * file's business.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Whose memory: the tenant (API key name, `""` on an open gateway) and the request's `user` field. */
export interface MemoryOwner {
  tenant: string;
  user: string;
}

/** One stored memory. */
export interface MemoryEntry {
  id: number;
  tenant: string;
  user: string;
  /** What kind of fact, e.g. "name", "location", "allergy" (the extractor's slot). */
  slot: string;
  /** The private value itself, e.g. "Alice Moreau" (what placeholders hide). */
  value: string;
  /** The fact as a sentence, e.g. "The user's name is Alice Moreau." */
  text: string;
  /** Unit-length embedding of the fact (what retrieval compares). */
  vector: Float32Array;
  /** Epoch ms when it was first told. */
  createdAt: number;
  /** Epoch ms when it was last told again or retrieved (eviction order). */
  usedAt: number;
  /** The trace of the request it was extracted from, once known. */
  sourceTraceId?: string;
}

/** A memory to store. */
export interface NewMemory {
  slot: string;
  value: string;
  text: string;
  vector: Float32Array;
  /** A single-valued slot (name, location…): storing it replaces the user's earlier value of the slot. */
  single?: boolean;
}

/** A retrieved memory and its cosine similarity to the query in [-1, 1]. */
export interface MemoryHit {
  entry: MemoryEntry;
  similarity: number;
}

/** What a trace's routing decision was, for the user it served (per-user calibration). */
export interface TraceLink extends MemoryOwner {
  traceId: string;
  /** The route strategy's name. */
  route: string;
  /** Router score in [0, 1] and the threshold it was compared to. */
  score: number;
  threshold: number;
  /** True when the strong model served. */
  escalated: boolean;
}

/** Feedback counts on one route's weak-served answers: positive (score ≥ 0.5) and negative. */
export interface FeedbackCounts {
  positive: number;
  negative: number;
}

/** Options of {@link openMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most memories per user; the least recently used are evicted. Default 256. */
  maxPerUser?: number;
  /**
   * Most memories per tenant (API key), across its users: a client that invents a new `user` per
   * request cannot grow the file without bound; the tenant's least recently used are evicted.
   * Default 100,000.
   */
  maxPerTenant?: number;
  /** Most trace links kept (oldest pruned). Default 100,000. */
  maxLinks?: number;
  /** Clock, epoch ms (tests inject one). Default `Date.now`. */
  now?: () => number;
}

/** The personal memory store. Every method is synchronous (better-sqlite3). Errors: better-sqlite3's. */
export interface MemoryStore {
  readonly path: string;
  /**
   * Stores memories of `owner`: a value already stored in the slot (case-insensitive) is only
   * touched; a single-valued slot's other values are replaced; then the least recently used
   * beyond `maxPerUser` are evicted. Returns the ids, in input order.
   */
  remember(owner: MemoryOwner, memories: readonly NewMemory[]): number[];
  /** The memories of `owner`, most recently used first. */
  list(owner: MemoryOwner): MemoryEntry[];
  /**
   * The `k` memories of `owner` most similar to `vector` (cosine; both unit length) with
   * similarity ≥ `minSimilarity`, best first; marks them used. Time: O(memories of the owner × dims).
   */
  search(owner: MemoryOwner, vector: Float32Array, options?: { k?: number; minSimilarity?: number }): MemoryHit[];
  /** Deletes every memory, trace link and feedback of `owner` (right to be forgotten); returns the memories deleted. */
  forget(owner: MemoryOwner): number;
  /** Deletes one memory of `owner`; false when `owner` has no memory `id`. */
  forgetEntry(owner: MemoryOwner, id: number): boolean;
  /** Users with memories, with their counts (all tenants, or one). */
  users(tenant?: string): Array<MemoryOwner & { memories: number }>;
  /** Records the trace the memories `ids` were extracted from. */
  setSourceTrace(ids: readonly number[], traceId: string): void;
  /** Records which user a traced routing decision served (prunes beyond `maxLinks`). */
  linkTrace(link: TraceLink): void;
  /** The link of `traceId`, when this store served it. */
  traceLink(traceId: string): TraceLink | undefined;
  /** Stores feedback (score in [0, 1]) on a linked trace (latest wins); false when the trace is not linked here. */
  addFeedback(traceId: string, score: number): boolean;
  /** Feedback counts of `owner` on weak-served answers of `route`. */
  feedbackCounts(owner: MemoryOwner, route: string): FeedbackCounts;
  /** The same over every user of `tenant` (the population the per-user offset shrinks toward). */
  tenantFeedbackCounts(tenant: string, route: string): FeedbackCounts;
  /** Closes the database (shared stores: when the last holder closes). Idempotent. */
  close(): void;
}

const toBlob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const fromBlob = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** Cosine similarity of two vectors of equal length (0 when either is zero). */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`cosine: vectors of length ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Opens (creating if needed) a memory store at `path` (":memory:" for an in-memory one).
 * Errors: better-sqlite3's (unwritable path, corrupt file); RangeError for bounds < 1.
 */
export function openMemoryStore(path: string, options: MemoryStoreOptions = {}): MemoryStore {
  const maxPerUser = options.maxPerUser ?? 256;
  const maxLinks = options.maxLinks ?? 100_000;
  const maxPerTenant = options.maxPerTenant ?? 100_000;
  if (!(maxPerUser >= 1) || !(maxLinks >= 1) || !(maxPerTenant >= 1)) throw new RangeError("memory store: maxPerUser, maxPerTenant and maxLinks must be ≥ 1");
  const now = options.now ?? Date.now;
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // deleted memories are overwritten on disk, not left in free pages (right to be forgotten)
  db.pragma("secure_delete = ON");
  db.exec(`CREATE TABLE IF NOT EXISTS memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    slot TEXT NOT NULL,
    value TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER NOT NULL,
    source_trace_id TEXT
  );
  CREATE INDEX IF NOT EXISTS memories_owner ON memories(tenant, user, used_at);
  CREATE INDEX IF NOT EXISTS memories_tenant ON memories(tenant, used_at);
  CREATE TABLE IF NOT EXISTS personal_links (
    trace_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    route TEXT NOT NULL,
    score REAL NOT NULL,
    threshold REAL NOT NULL,
    escalated INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS personal_links_created ON personal_links(created_at);
  CREATE TABLE IF NOT EXISTS personal_feedback (
    trace_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    route TEXT NOT NULL,
    escalated INTEGER NOT NULL,
    positive INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS personal_feedback_owner ON personal_feedback(tenant, route, user);`);

  const OWNER = "tenant = @tenant AND user = @user";
  const findValue = db.prepare(`SELECT id FROM memories WHERE ${OWNER} AND slot = @slot AND lower(value) = lower(@value)`);
  const touch = db.prepare(`UPDATE memories SET used_at = @at WHERE id = @id`);
  const dropSlot = db.prepare(`DELETE FROM memories WHERE ${OWNER} AND slot = @slot AND id != @keep`);
  const insert = db.prepare(`INSERT INTO memories (tenant, user, slot, value, text, vector, created_at, used_at)
    VALUES (@tenant, @user, @slot, @value, @text, @vector, @at, @at)`);
  const evict = db.prepare(`DELETE FROM memories WHERE id IN (
    SELECT id FROM memories WHERE ${OWNER} ORDER BY used_at DESC, id DESC LIMIT -1 OFFSET @cap)`);
  const countTenant = db.prepare(`SELECT COUNT(*) AS n FROM memories WHERE tenant = @tenant`);
  const evictTenant = db.prepare(`DELETE FROM memories WHERE id IN (
    SELECT id FROM memories WHERE tenant = @tenant ORDER BY used_at DESC, id DESC LIMIT -1 OFFSET @cap)`);
  /** Memories per tenant, counted once when first needed and kept in step by remember/forget (cheap cap checks). */
  const tenantCount = new Map<string, number>();
  const countOf = (tenant: string) => {
    let n = tenantCount.get(tenant);
    if (n === undefined) tenantCount.set(tenant, (n = (countTenant.get({ tenant }) as { n: number }).n));
    return n;
  };
  const selectOwner = db.prepare(`SELECT * FROM memories WHERE ${OWNER} ORDER BY used_at DESC, id DESC`);
  const insertLink = db.prepare(`INSERT OR REPLACE INTO personal_links (trace_id, tenant, user, route, score, threshold, escalated, created_at)
    VALUES (@traceId, @tenant, @user, @route, @score, @threshold, @escalated, @at)`);
  const pruneLinks = db.prepare(`DELETE FROM personal_links WHERE trace_id IN (
    SELECT trace_id FROM personal_links ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET @cap)`);
  const selectLink = db.prepare(`SELECT * FROM personal_links WHERE trace_id = ?`);
  const insertFeedback = db.prepare(`INSERT OR REPLACE INTO personal_feedback (trace_id, tenant, user, route, escalated, positive, created_at)
    SELECT trace_id, tenant, user, route, escalated, @positive, @at FROM personal_links WHERE trace_id = @traceId`);
  const COUNTS = "SELECT COALESCE(SUM(positive), 0) AS positive, COALESCE(SUM(1 - positive), 0) AS negative FROM personal_feedback";
  const ownerCounts = db.prepare(`${COUNTS} WHERE ${OWNER} AND route = @route AND escalated = 0`);
  const tenantCounts = db.prepare(`${COUNTS} WHERE tenant = @tenant AND route = @route AND escalated = 0`);
  const setTrace = db.prepare(`UPDATE memories SET source_trace_id = @traceId WHERE id = @id`);
  let links = (db.prepare("SELECT COUNT(*) AS n FROM personal_links").get() as { n: number }).n;

  const entry = (r: Record<string, unknown>): MemoryEntry => ({
    id: r.id as number,
    tenant: r.tenant as string,
    user: r.user as string,
    slot: r.slot as string,
    value: r.value as string,
    text: r.text as string,
    vector: fromBlob(r.vector as Buffer),
    createdAt: r.created_at as number,
    usedAt: r.used_at as number,
    ...(r.source_trace_id ? { sourceTraceId: r.source_trace_id as string } : {}),
  });
  const own = (o: MemoryOwner) => ({ tenant: String(o.tenant), user: String(o.user) });

  const rememberTx = db.transaction((owner: MemoryOwner, memories: readonly NewMemory[]) => {
    const at = now();
    const ids: number[] = [];
    for (const m of memories) {
      const existing = findValue.get({ ...own(owner), slot: m.slot, value: m.value }) as { id: number } | undefined;
      let id: number;
      if (existing) {
        id = existing.id;
        touch.run({ id, at });
      } else {
        id = Number(insert.run({ ...own(owner), slot: m.slot, value: m.value, text: m.text, vector: toBlob(m.vector), at }).lastInsertRowid);
        tenantCount.set(own(owner).tenant, countOf(own(owner).tenant) + 1);
      }
      if (m.single) tenantCount.set(own(owner).tenant, countOf(own(owner).tenant) - dropSlot.run({ ...own(owner), slot: m.slot, keep: id }).changes);
      ids.push(id);
    }
    const { tenant } = own(owner);
    tenantCount.set(tenant, countOf(tenant) - evict.run({ ...own(owner), cap: maxPerUser }).changes);
    if (countOf(tenant) > maxPerTenant) tenantCount.set(tenant, countOf(tenant) - evictTenant.run({ tenant, cap: maxPerTenant }).changes);
    return ids;
  });
  const forgetTx = db.transaction((owner: MemoryOwner) => {
    const n = db.prepare(`DELETE FROM memories WHERE ${OWNER}`).run(own(owner)).changes;
    tenantCount.delete(own(owner).tenant); // recounted when next needed
    links -= db.prepare(`DELETE FROM personal_links WHERE ${OWNER}`).run(own(owner)).changes;
    db.prepare(`DELETE FROM personal_feedback WHERE ${OWNER}`).run(own(owner));
    return n;
  });

  return {
    path,
    remember: (owner, memories) => (memories.length === 0 ? [] : rememberTx(owner, memories)),
    list: (owner) => (selectOwner.all(own(owner)) as Record<string, unknown>[]).map(entry),
    search(owner, vector, { k = 5, minSimilarity = 0 } = {}) {
      const hits: MemoryHit[] = [];
      for (const r of selectOwner.all(own(owner)) as Record<string, unknown>[]) {
        const e = entry(r);
        if (e.vector.length !== vector.length) continue; // written by another embedder: not comparable
        const similarity = cosine(e.vector, vector);
        if (similarity >= minSimilarity) hits.push({ entry: e, similarity });
      }
      hits.sort((a, b) => b.similarity - a.similarity || b.entry.usedAt - a.entry.usedAt);
      const top = hits.slice(0, Math.max(0, k));
      const at = now();
      for (const h of top) touch.run({ id: h.entry.id, at });
      return top;
    },
    forget(owner) {
      const n = forgetTx(owner);
      // old page images of the deleted rows leave the write-ahead log too
      if (path !== ":memory:") db.pragma("wal_checkpoint(TRUNCATE)");
      return n;
    },
    forgetEntry: (owner, id) => {
      tenantCount.delete(own(owner).tenant);
      return db.prepare(`DELETE FROM memories WHERE ${OWNER} AND id = @id`).run({ ...own(owner), id }).changes > 0;
    },
    users(tenant) {
      const rows = (
        tenant === undefined
          ? db.prepare("SELECT tenant, user, COUNT(*) AS memories FROM memories GROUP BY tenant, user ORDER BY tenant, user").all()
          : db.prepare("SELECT tenant, user, COUNT(*) AS memories FROM memories WHERE tenant = ? GROUP BY tenant, user ORDER BY user").all(tenant)
      ) as Array<MemoryOwner & { memories: number }>;
      return rows;
    },
    setSourceTrace(ids, traceId) {
      db.transaction(() => {
        for (const id of ids) setTrace.run({ id, traceId });
      })();
    },
    linkTrace(link) {
      insertLink.run({ ...link, tenant: String(link.tenant), user: String(link.user), escalated: link.escalated ? 1 : 0, at: now() });
      links++;
      // prune in batches (one DELETE per 1 % of the cap), not on every insert
      if (links > maxLinks + Math.max(1, Math.floor(maxLinks / 100))) {
        pruneLinks.run({ cap: maxLinks });
        links = (db.prepare("SELECT COUNT(*) AS n FROM personal_links").get() as { n: number }).n;
      }
    },
    traceLink(traceId) {
      const r = selectLink.get(traceId) as Record<string, unknown> | undefined;
      if (!r) return undefined;
      return { traceId, tenant: r.tenant as string, user: r.user as string, route: r.route as string, score: r.score as number, threshold: r.threshold as number, escalated: r.escalated === 1 };
    },
    addFeedback: (traceId, score) => insertFeedback.run({ traceId, positive: score >= 0.5 ? 1 : 0, at: now() }).changes > 0,
    feedbackCounts: (owner, route) => ownerCounts.get({ ...own(owner), route }) as FeedbackCounts,
    tenantFeedbackCounts: (tenant, route) => tenantCounts.get({ tenant, route }) as FeedbackCounts,
    close() {
      if (db.open) db.close();
    },
  };
}

const shared = new Map<string, { store: MemoryStore; holders: number }>();

/**
 * The memory store of `path`, shared by every holder in this process (the `personalize`
 * strategies and calibrated routes of one policy use one file through one connection): opened on
 * first use, closed when the last holder calls `close()`. `":memory:"` is never shared (each call
 * opens its own). Options apply when the store is opened. Errors: those of {@link openMemoryStore}.
 */
export function sharedMemoryStore(path: string, options: MemoryStoreOptions = {}): MemoryStore {
  if (path === ":memory:") return openMemoryStore(path, options);
  const key = resolve(path);
  let held = shared.get(key);
  if (!held) shared.set(key, (held = { store: openMemoryStore(key, options), holders: 0 }));
  held.holders++;
  const h = held;
  let closed = false;
  return {
    ...h.store,
    close() {
      if (closed) return;
      closed = true;
      if (--h.holders === 0) {
        shared.delete(key);
        h.store.close();
      }
    },
  };
}
