import { scramSha256Verifier } from '../../../src/replication';

describe('scramSha256Verifier', () => {
  // That PostgreSQL accepts these verifiers is proven by real logins in setup.test.ts.
  it("has PostgreSQL's stored format and depends only on password and salt", () => {
    const salt = Buffer.from('0123456789abcdef');
    const verifier = scramSha256Verifier('pencil', salt);
    expect(verifier).toMatch(
      /^SCRAM-SHA-256\$4096:MDEyMzQ1Njc4OWFiY2RlZg==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
    expect(scramSha256Verifier('pencil', salt)).toBe(verifier);
    expect(scramSha256Verifier('pencil2', salt)).not.toBe(verifier);
  });

  it('uses a fresh salt each time', () => {
    expect(scramSha256Verifier('same')).not.toBe(scramSha256Verifier('same'));
  });
});
