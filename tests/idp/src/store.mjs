// In-memory storage for oidc-provider (one Store per IdP instance). Nothing is written to disk.
// Expiry is checked on read. Also remembers every grant it saw, for the test API.

export class Store {
  constructor() {
    this.records = new Map(); // "Model:id" -> { payload, exp }
    this.byGrant = new Map(); // grantId -> Set("Model:id")
    this.sessionByUid = new Map();
    this.deviceCodeByUserCode = new Map(); // normalized user code -> DeviceCode id (device flow)
    this.grants = new Map(); // grantId -> { accountId, clientId } (kept after revocation)
    this.onUpsert = () => {};
  }

  /** The adapter class oidc-provider instantiates once per model name. */
  adapter() {
    const store = this;
    return class MemoryAdapter {
      constructor(name) { this.name = name; }

      key(id) { return `${this.name}:${id}`; }

      async upsert(id, payload, expiresIn) {
        const key = this.key(id);
        store.records.set(key, { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
        if (payload.grantId) {
          if (!store.byGrant.has(payload.grantId)) store.byGrant.set(payload.grantId, new Set());
          store.byGrant.get(payload.grantId).add(key);
        }
        if (this.name === 'Session' && payload.uid) store.sessionByUid.set(payload.uid, id);
        if (this.name === 'DeviceCode' && payload.userCode) store.deviceCodeByUserCode.set(payload.userCode, id);
        if (this.name === 'Grant') store.grants.set(id, { accountId: payload.accountId, clientId: payload.clientId });
        store.onUpsert(this.name, id, payload);
      }

      async find(id) {
        const rec = store.records.get(this.key(id));
        if (!rec) return undefined;
        if (rec.exp <= Date.now()) {
          store.records.delete(this.key(id));
          return undefined;
        }
        return rec.payload;
      }

      async findByUid(uid) {
        const id = store.sessionByUid.get(uid);
        return id ? this.find(id) : undefined;
      }

      async findByUserCode(userCode) {
        const id = store.deviceCodeByUserCode.get(userCode);
        return id ? this.find(id) : undefined;
      }

      async consume(id) {
        const rec = store.records.get(this.key(id));
        if (rec) rec.payload.consumed = Math.floor(Date.now() / 1000);
      }

      async destroy(id) { store.records.delete(this.key(id)); }

      async revokeByGrantId(grantId) {
        for (const key of store.byGrant.get(grantId) ?? []) store.records.delete(key);
        store.byGrant.delete(grantId);
      }
    };
  }

  /** Revokes every grant of an account (what an admin does in Logto's console). Returns how many. */
  revokeAccount(accountId) {
    let n = 0;
    for (const [grantId, g] of this.grants) {
      if (g.accountId !== accountId) continue;
      for (const key of this.byGrant.get(grantId) ?? []) this.records.delete(key);
      this.byGrant.delete(grantId);
      this.records.delete(`Grant:${grantId}`);
      n += 1;
    }
    return n;
  }

  /** Refresh tokens still usable (stored, not consumed, not expired) for a grant. */
  activeRefreshTokens(grantId) {
    let n = 0;
    for (const key of this.byGrant.get(grantId) ?? []) {
      const rec = this.records.get(key);
      if (key.startsWith('RefreshToken:') && rec && rec.exp > Date.now() && !rec.payload.consumed) n += 1;
    }
    return n;
  }
}
