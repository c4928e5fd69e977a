import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { advisoriesOf, evaluate, parseAllowlist } from '../../scripts/audit-check.ts';

// The `npm audit --omit=dev` gate of CI (issue 16): what counts as an advisory, what the allowlist
// lets through, and that an expired allowance fails. The report below has the shape of npm's
// `--json` output (auditReportVersion 2).

const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    'fast-xml-parser': {
      name: 'fast-xml-parser',
      severity: 'high',
      via: [
        {
          source: 1101,
          name: 'fast-xml-parser',
          title: 'Prototype pollution',
          url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
          severity: 'high',
        },
      ],
    },
    '@aws-sdk/core': { name: '@aws-sdk/core', severity: 'high', via: ['fast-xml-parser'] },
    semver: {
      name: 'semver',
      severity: 'moderate',
      via: [
        {
          source: 1102,
          name: 'semver',
          title: 'ReDoS',
          url: 'https://github.com/advisories/GHSA-dddd-eeee-ffff',
          severity: 'moderate',
        },
      ],
    },
  },
};

describe('npm audit gate', () => {
  it('lists each advisory once, by GHSA id and package (dependents are not advisories)', () => {
    expect(advisoriesOf(report).map((a) => `${a.id} ${a.package}`)).toEqual([
      'GHSA-aaaa-bbbb-cccc fast-xml-parser',
      'GHSA-dddd-eeee-ffff semver',
    ]);
    expect(advisoriesOf({ vulnerabilities: {} })).toEqual([]);
  });

  it('fails on any advisory not allowlisted, passes when each is, and fails again once an allowance expires', () => {
    const advisories = advisoriesOf(report);
    expect(evaluate(advisories, []).ok).toBe(false);
    const allowlist = [
      {
        id: 'GHSA-aaaa-bbbb-cccc',
        package: 'fast-xml-parser',
        reason: 'XML parsing of S3 answers only',
        expires: '2027-06-30',
      },
      {
        id: 'GHSA-dddd-eeee-ffff',
        package: 'semver',
        reason: 'only parses our own versions',
        expires: '2027-06-30',
      },
      { id: 'GHSA-zzzz-zzzz-zzzz', package: 'gone', reason: 'fixed upstream', expires: '2027-06-30' },
    ];
    const now = new Date('2027-01-01T00:00:00Z');
    const passing = evaluate(advisories, allowlist, now);
    expect(passing).toMatchObject({ ok: true, blocking: [], expired: [] });
    expect(passing.unused.map((e) => e.package)).toEqual(['gone']);
    expect(evaluate(advisories, allowlist.slice(1), now).blocking.map((a) => a.package)).toEqual([
      'fast-xml-parser',
    ]);
    const later = evaluate(advisories, allowlist, new Date('2027-07-01T00:00:00Z'));
    expect(later.ok).toBe(false);
    expect(later.expired).toHaveLength(2);
  });

  it('checks the allowlist file: the committed one is valid, entries need every field and a date', () => {
    expect(
      parseAllowlist(readFileSync(new URL('../../.ci/audit-allowlist.json', import.meta.url), 'utf8')),
    ).toEqual(expect.any(Array));
    expect(() => parseAllowlist('{"advisories":[{"id":"GHSA-x","package":"p","reason":""}]}')).toThrow(
      /reason/,
    );
    expect(() =>
      parseAllowlist('{"advisories":[{"id":"GHSA-x","package":"p","reason":"r","expires":"next year"}]}'),
    ).toThrow(/expires/);
  });
});
