import { assertJavaToolchain, ProbeSetupError } from './probe';

describe('assertJavaToolchain', () => {
  const saved = process.env.JAVA_HOME;
  afterEach(() => {
    if (saved === undefined) delete process.env.JAVA_HOME;
    else process.env.JAVA_HOME = saved;
  });

  it("passes with the machine's JDK", () => {
    expect(() => assertJavaToolchain()).not.toThrow();
  });

  it('names the missing java and what to install', () => {
    process.env.JAVA_HOME = '/nonexistent-jdk';
    expect(() => assertJavaToolchain()).toThrow(ProbeSetupError);
    expect(() => assertJavaToolchain()).toThrow(
      /needs a JDK 17\+ \("\/nonexistent-jdk\/bin\/java" not found\): install one/,
    );
  });
});
