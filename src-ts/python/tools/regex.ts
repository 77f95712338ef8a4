// The regular expression engine Ajv compiles every `pattern` and `patternProperties` with (its
// `code.regExp` option): RE2's, through re2js, a pure-JS port. V8's own engine backtracks, so a
// pattern such as `^(a+)+$` takes time exponential in the guest's text (27 characters blocked
// the event loop for a second); RE2 matches in time linear in the text, whatever the pattern.
// It is pure JS on purpose: the native `re2` package needs a compiler at install time.
//
// Each match also costs the running check steps in proportion to the text's length, so that a
// schema testing many patterns against long strings meets the same budget as any other work.
import { createRequire } from 'node:module';
import type { Options } from 'ajv';
import { moduleUrl } from '../../module-url.js';

type RegExpEngine = NonNullable<NonNullable<Options['code']>['regExp']>;

interface Re2Pattern {
  test(input: string): boolean;
}
interface Re2Class {
  compile(pattern: string): Re2Pattern;
  translateRegExp(pattern: string): string;
}

/** Characters of text per validation step a match costs (a step is about a microsecond; so is this). */
const CHARS_PER_STEP = 64;

let re2: Re2Class | undefined;

/** re2js, loaded at the first pattern compiled (as Ajv is, for sessions that never need it). */
function re2Class(): Re2Class {
  re2 ??= (createRequire(moduleUrl)('re2js') as { RE2JS: Re2Class }).RE2JS;
  return re2;
}

/**
 * Ajv's regExp option, with the step counter the running check charges. A pattern RE2 cannot
 * express (a lookaround, a backreference) throws here, so the schema is refused at construction.
 */
export function linearRegExp(charge: (steps: number) => void): RegExpEngine {
  const engine = (pattern: string): { test(input: string): boolean; toString(): string } => {
    const RE2JS = re2Class();
    let compiled: Re2Pattern;
    try {
      // JSON Schema's patterns are ECMAScript's: named groups and \u{...} are spelled as RE2 spells them.
      compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(
        `the pattern ${JSON.stringify(pattern)} is not one the linear-time engine (RE2) accepts: ${why}; ` +
          'lookarounds and backreferences cannot be matched in linear time (check the string in the handler)',
      );
    }
    return {
      test(input: string): boolean {
        charge(Math.ceil(input.length / CHARS_PER_STEP));
        return compiled.test(input);
      },
      // Ajv keeps one compiled pattern per distinct toString(): it must name the pattern.
      toString: () => `re2:${pattern}`,
    };
  };
  // Only read by Ajv's standalone code generation, which this host does not use.
  engine.code = 'require("re2js").RE2JS.compile';
  return engine;
}
