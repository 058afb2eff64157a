// Users and organizations, in memory. Seeded from the config; phone sign-in registers new users.
import crypto from 'node:crypto';
import { phoneDigits } from './config.mjs';

// Logto's userClaims (core-kit): scope -> claims it releases (ID token and /oidc/me).
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'picture', 'username'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  custom_data: ['custom_data'],
  identities: ['identities'],
  roles: ['roles'],
  'urn:logto:scope:organizations': ['organizations'],
  'urn:logto:scope:organization_roles': ['organization_roles'],
};
export const ORGANIZATIONS_SCOPE = 'urn:logto:scope:organizations';
export const organizationUrn = (id) => `urn:logto:organization:${id}`;

// Logto user ids: 12 lowercase alphanumerics.
const newUserId = () => Array.from(crypto.randomBytes(12), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');

export class Accounts {
  constructor({ users = [], organizations = [] } = {}) {
    this.users = new Map(); // id -> user
    this.byPhone = new Map(); // digits -> id
    for (const u of users) this.add({ id: u.id, phone: u.phone, name: u.name, username: u.username, picture: u.picture });
    this.organizations = new Map(organizations.map((o) => [o.id, {
      id: o.id, name: o.name ?? o.id, scopes: o.scopes ?? [], members: new Set(o.members.map(phoneDigits)),
    }]));
  }

  add({ id = newUserId(), phone, name = null, username = null, picture = null }) {
    // Logto keeps primaryPhone as digits without '+'.
    const user = { id, primaryPhone: phoneDigits(phone), name, username, picture };
    this.users.set(id, user);
    this.byPhone.set(user.primaryPhone, id);
    return user;
  }

  findByPhone(phone) { return this.users.get(this.byPhone.get(phoneDigits(phone))); }

  organizationsOf(userId) {
    const user = this.users.get(userId);
    if (!user) return [];
    return [...this.organizations.values()].filter((o) => o.members.has(user.primaryPhone));
  }

  isMember(organizationId, userId) {
    return this.organizationsOf(userId).some((o) => o.id === organizationId);
  }

  /** oidc-provider's findAccount. */
  findAccount = async (_ctx, sub) => {
    const user = this.users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        name: user.name,
        picture: user.picture,
        username: user.username,
        phone_number: user.primaryPhone,
        phone_number_verified: true,
        organizations: this.organizationsOf(sub).map((o) => o.id),
        organization_roles: [],
        roles: [],
      }),
    };
  };
}
