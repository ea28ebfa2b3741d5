import { describe, expect, it } from 'vitest';
import { adminHash, isOwnGrant, parseAdminHash, registryResourceType } from '../src/lib/auth';

describe('the admin page address', () => {
  it('parses its tabs and user, and nothing else', () => {
    expect(parseAdminHash('#/admin')).toEqual({ tab: 'users', user: '' });
    expect(parseAdminHash('#/admin/')).toEqual({ tab: 'users', user: '' });
    expect(parseAdminHash('#/admin?tab=roles')).toEqual({ tab: 'roles', user: '' });
    expect(parseAdminHash('#/admin?tab=grants&user=bob%20b')).toEqual({ tab: 'grants', user: 'bob b' });
    expect(parseAdminHash('#/admin?tab=bogus')).toEqual({ tab: 'users', user: '' });
    expect(parseAdminHash('#/administrator')).toBeNull();
    expect(parseAdminHash('#/experiments')).toBeNull();
    expect(parseAdminHash('')).toBeNull();
  });
  it('round-trips', () => {
    for (const r of [
      { tab: 'users', user: '' },
      { tab: 'roles', user: '' },
      { tab: 'grants', user: 'a&b=c' },
    ])
      expect(parseAdminHash(adminHash(r))).toEqual(r);
    expect(adminHash({ tab: 'users' })).toBe('#/admin');
  });
});

describe('grants', () => {
  it('prompts are governed by prompt grants, other registry entries by registered-model grants', () => {
    expect(registryResourceType([{ key: 'mlflow.prompt.is_prompt', value: 'true' }])).toBe('prompt');
    expect(registryResourceType([{ key: 'mlflow.prompt.is_prompt', value: 'false' }])).toBe('registered_model');
    expect(registryResourceType(undefined)).toBe('registered_model');
  });
  it("tell a user's own grants from those of their roles", () => {
    const row = { role_id: 1, workspace: 'default', resource_type: 'experiment', resource_pattern: '1', permission: 'READ' };
    expect(isOwnGrant({ ...row, role_name: '__user_3__' })).toBe(true);
    expect(isOwnGrant({ ...row, role_name: 'readers' })).toBe(false);
  });
});
