/**
 * Tails of a deviation, and deviations of a tail: the two-sided Gaussian tail and its inverse
 * ({@link erfc}, {@link deviationForRate}), and the Gaussian-equivalent of a deviation whose null
 * distribution is Student's t ({@link studentScale}).
 *
 * A baseline measures a deviation in its entity's *estimated* noise: an exponentially weighted
 * variance of weight α holds about `(2 − α) / α` errors' worth of information, so under the null
 * (Gaussian noise) the deviation is closer to Student's t than to a Gaussian, and the Gaussian tail
 * understates how often a normal event lands far out: at α = 0.02 with a daily profile, Gaussian
 * noise reached 4.89 sd (a Gaussian tail of 1e-6) 5.5 times in a million judged events. Judging
 * the t tail's Gaussian equivalent against the Gaussian `z*` makes the target false-alert rate the
 * rate normal events actually alert at.
 *
 * Pure functions; the scales are tables built once per degree of freedom.
 *
 * @module
 */

/** The complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + erfcPoly(t));
  return x >= 0 ? r : 2 - r;
}

/** `ln erfc(x)` for `x ≥ 0`, without underflow far out. */
export function logErfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  return Math.log(t) - x * x - 1.26551223 + erfcPoly(t);
}

function erfcPoly(t: number): number {
  return t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
                t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
                                t * 0.17087277))))))));
}

/** The deviation, in standard deviations, at which a two-sided Gaussian tail is `rate`. */
export function deviationForRate(rate: number): number {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`rate must be in (0, 1), got ${rate}`);
  return deviationForLogTail(Math.log(rate));
}

/** `√(2/π)`: the slope of `erfc(z/√2)` at 0, in absolute value. */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * The deviation at which the two-sided Gaussian tail is `exp(logTail)` (`logTail ≤ 0`): the root
 * of `ln erfc(z/√2) = logTail` ({@link logErfc}, decreasing in `z`) by Newton's method from its
 * asymptotic form, kept inside a bracket that bisects whenever a step would leave it. Within
 * 2e-15 of a 100-step bisection relatively for tails from 1e-6 down to e^-10⁶, at about a seventh
 * of its time (it runs on every extreme event's recurrence and every stuck run's judgement).
 */
export function deviationForLogTail(logTail: number): number {
  if (!(logTail < 0)) return 0;
  // z ≤ √(−2 ln tail) + 1; far out, ln erfc(z/√2) ≈ −z²/2 − ln(z·√(π/2)).
  let lo = 0, hi = Math.sqrt(-2 * logTail) + 1;
  const m = -2 * logTail;
  let z = Math.sqrt(Math.max(0, m - Math.log(Math.max(1, m)) - Math.log(Math.PI / 2)));
  if (!(z > lo && z < hi)) z = (lo + hi) / 2;
  for (let i = 0; i < 100; i++) {
    const le = logErfc(z / Math.SQRT2), g = le - logTail;
    if (g > 0) lo = z;
    else if (g < 0) hi = z;
    else return z;
    // The slope of the exact ln erfc(z/√2): −√(2/π)·e^(−z²/2) / erfc(z/√2).
    let next = z + g / (SQRT_2_OVER_PI * Math.exp(-z * z / 2 - le));
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - z) <= 1e-15 * z || hi - lo <= 1e-15 * hi) return next;
    z = next;
  }
  return z;
}

/**
 * Degrees of freedom of a baseline's deviations under the null, for level weight `alpha`: 0.8 of
 * the `(2 − α) / α` errors an exponentially weighted variance holds, the 0.8 for the forecast's
 * own error. Fitted on Gaussian sensors (200 entities, a daily cycle, one event a minute, 10⁷
 * judged events): with α = 0.02 their rates of deviations from 3.5 to 5.1 sd were within ±4 % of
 * t with 80 degrees of freedom (without a daily profile, t with about 110). A young entity's
 * noise is the plain mean of its first errors (weight `1/n` until that falls to α): from `events`
 * of them it holds no more than that many, so the degrees of freedom are 0.8 of the fewer.
 */
export function nullDegrees(alpha: number, events = Infinity): number {
  return 0.8 * Math.min(events, (2 - alpha) / alpha);
}

/**
 * Degrees of freedom of a young entity's deviations, from its `events` (fewer than the
 * `(2 − α)/α` a mature noise holds): {@link nullDegrees} rounded down to a quarter octave
 * (`2^(k/4)`), so that a few scale tables serve every age (about 4 per doubling, whatever `α`),
 * each judging a tail no lighter than that age's own.
 */
export function youngDegrees(alpha: number, events: number): number {
  return 2 ** (Math.floor(4 * Math.log2(nullDegrees(alpha, events))) / 4);
}

/** `ln P(|T| > t)` for Student's t with `nu` degrees of freedom, `t ≥ 0`. */
export function logStudentTail(t: number, nu: number): number {
  // P(|T| > t) = I_x(ν/2, 1/2), x = ν / (ν + t²): the regularised incomplete beta.
  return logBetaRegularized(nu / 2, 0.5, nu / (nu + t * t));
}

/** Knots of a scale: every 0.01 sd to 8 sd, then 1 % apart to 10⁴ sd. */
const KNOTS: Float64Array = (() => {
  const out: number[] = [];
  for (let i = 0; i <= 800; i++) out.push(i / 100);
  for (let z = 8 * 1.01; z < 1e4; z *= 1.01) out.push(z);
  return Float64Array.from(out);
})();
const LINEAR_END = 800;
/** The scales built so far, by degrees of freedom and by share: each is built once. */
const scales = new Map<number, (z: number) => number>();
const shares = new Map<number, (c: number) => number>();

/** `values` (one per knot) interpolated linearly at `a`, 0 ≤ a < the last knot. */
function onKnots(values: Float64Array, a: number): number {
  const k = a < 8 ? Math.floor(a * 100) : LINEAR_END + Math.floor(Math.log(a / 8) / Math.log(1.01));
  const lo = Math.min(k, KNOTS.length - 2), z0 = KNOTS[lo], z1 = KNOTS[lo + 1];
  return values[lo] + (values[lo + 1] - values[lo]) * ((a - z0) / (z1 - z0));
}

/**
 * The Gaussian-equivalent of a deviation under Student's t with `nu` degrees of freedom: maps
 * `|z|` to the deviation whose two-sided Gaussian tail is `P(|T| > |z|)`. Increasing, below `|z|`;
 * interpolated in a table built once per `nu` (the same function for the same `nu`; error < 0.001 sd
 * to 8 sd); beyond 10⁴ sd it grows as
 * `√(2ν ln z)`, as the t tail's Gaussian equivalent does.
 */
export function studentScale(nu: number): (z: number) => number {
  if (!(nu > 0) || !Number.isFinite(nu)) {
    throw new RangeError(`degrees of freedom must be a finite number > 0, got ${nu}`);
  }
  const built = scales.get(nu);
  if (built) return built;
  const values = KNOTS.map((z) => deviationForLogTail(logStudentTail(z, nu)));
  const last = KNOTS.length - 1, far = KNOTS[last];
  const scale = (z: number): number => {
    const a = Math.abs(z);
    if (!(a < far)) {
      return Number.isNaN(a) ? NaN : Math.sqrt(values[last] ** 2 + 2 * nu * Math.log(a / far));
    }
    return onKnots(values, a);
  };
  scales.set(nu, scale);
  return scale;
}

/**
 * A Gaussian equivalent weighed at `share` (0 < share ≤ 1) of the target: maps `c` to the deviation
 * whose two-sided Gaussian tail is that of `c` over `share` (0 where that reaches 1), so a
 * judgement that runs beside others spends only its share of the false alerts. Increasing, below
 * `c`; interpolated in a table built once per `share`, on {@link studentScale}'s knots.
 */
export function shareScale(share: number): (c: number) => number {
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be in (0, 1], got ${share}`);
  const built = shares.get(share);
  if (built) return built;
  const lnShare = Math.log(share);
  const values = KNOTS.map((z) => deviationForLogTail(logErfc(z / Math.SQRT2) - lnShare));
  const far = KNOTS[KNOTS.length - 1];
  const scale = (c: number): number => {
    const a = Math.abs(c);
    // Far out the tail's ratio is a constant shift of the square: z'² ≈ c² + 2 ln share.
    if (!(a < far)) return Number.isNaN(a) ? NaN : Math.sqrt(a * a + 2 * lnShare);
    return onKnots(values, a);
  };
  shares.set(share, scale);
  return scale;
}

/** `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  const y = x - 1, t = y + 7.5;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * `ln I_x(a, b)`, the log of the regularised incomplete beta function, for `a, b > 0` and
 * `0 ≤ x ≤ 1`; accurate far into either tail (from the continued fraction on the side where it
 * converges fast).
 */
export function logBetaRegularized(a: number, b: number, x: number): number {
  if (x <= 0) return -Infinity;
  if (x >= 1) return 0;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) +
    b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return logFront + Math.log(betaFraction(a, b, x) / a);
  return Math.log1p(-Math.min(1, Math.exp(logFront) * betaFraction(b, a, 1 - x) / b));
}

/**
 * `ln P(a, x)` and `ln Q(a, x)`, the logs of the regularised lower and upper incomplete gamma
 * functions, for `a > 0`, `x ≥ 0` (a series below `a + 1`, a continued fraction above).
 */
export function logGammaRegularized(a: number, x: number): { lower: number; upper: number } {
  if (x <= 0) return { lower: -Infinity, upper: 0 };
  const logFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // P(a, x) = e^−x x^a / Γ(a + 1) · Σ x^n / ((a + 1)…(a + n))
    let term = 1 / a, sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    const lower = logFront + Math.log(sum);
    return { lower, upper: Math.log1p(-Math.min(1, Math.exp(lower))) };
  }
  // Q(a, x) = e^−x x^a / Γ(a) · 1 / (x + 1 − a − 1·(1 − a) / (x + 3 − a − …)) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  const upper = logFront + Math.log(h);
  return { lower: Math.log1p(-Math.min(1, Math.exp(upper))), upper };
}

/** The incomplete beta function's continued fraction (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (
      const step of [
        m * (b - m) * x / ((a - 1 + m2) * (a + m2)),
        -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2)),
      ]
    ) {
      d = 1 + step * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + step / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}
