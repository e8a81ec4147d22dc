/**
 * Statistics helpers (used by the audit and the models' attacks): normal and binomial tails, the normal
 * quantile, the regularized incomplete beta function and its inverse, Wilson
 * and Clopper–Pearson intervals. Pure functions of numbers; no data values.
 * Accuracy (against SciPy): about 1e-14 relative for the normal functions and
 * 1e-10 or better for the beta functions and Clopper–Pearson bounds with n up
 * to 1e6.
 */
import { SluiceError } from './errors.js';

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const EPS = 1e-16;
const TINY = 1e-300;

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INPUT_INVALID', message);
}

/** The complementary error function erfc(x) = 1 − erf(x), accurate in the far tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) {
    // erf(x) = 2/√π · e^{−x²} · Σ (2x²)^n x / (1·3·…·(2n+1)): all terms positive, so no cancellation.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * EPS) break;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-x2) * sum;
  }
  if (x > 27) return 0;
  // Continued fraction erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  let f = x;
  let c = x;
  let d = 0;
  for (let m = 1; m < 500; m++) {
    const a = m / 2;
    d = x + a * d;
    d = d === 0 ? TINY : d;
    c = x + a / c;
    c = c === 0 ? TINY : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

/** Standard normal CDF Φ(z) = P(Z ≤ z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

/** Standard normal upper tail P(Z ≥ z) = 1 − Φ(z), accurate for large z. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / SQRT2);
}

/**
 * The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (±Infinity at 0 and 1).
 * A rational starting value (Abramowitz–Stegun 26.2.23 form) refined by Halley
 * steps on the accurate CDF, working in the smaller tail.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw invalid(`normalQuantile: p must be in [0, 1]; found ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  const lower = p < 0.5;
  const q = lower ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(q));
  let x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  // x < 0 solves Φ(x) = q; Φ(x) comes from erfc and keeps full relative precision in the tail.
  for (let i = 0; i < 4; i++) {
    const e = normalCdf(x) - q;
    const u = e * Math.exp(0.5 * x * x + LN_SQRT_2PI);
    const step = u / (1 + (x * u) / 2);
    x -= step;
    if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  // Working with q = 1 − p loses the bits of p beyond 1e-16 near 1; that is below the precision asked for.
  return lower ? x : -x;
}

function stirlingCorrection(y: number): number {
  // ln Γ(y) − [(y − ½) ln y − y + ½ ln 2π] for y ≥ 15, from the Bernoulli numbers:
  // B_{2k}/(2k(2k−1)) = 1/12, −1/360, 1/1260, −1/1680, 1/1188, −691/360360, 1/156.
  const inv = 1 / y;
  const inv2 = inv * inv;
  return (
    inv *
    (1 / 12 +
      inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 * (1 / 156)))))))
  );
}

/** ln Γ(x) for x > 0 (Stirling series after shifting x to 15 or above). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw invalid(`logGamma: x must be positive; found ${x}`);
  let shift = 0;
  let y = x;
  // ln Γ(x) = ln Γ(x + m) − ln(x (x+1) … (x+m−1)); the product is folded into logs before it could overflow.
  let prod = 1;
  while (y < 15) {
    prod *= y;
    y += 1;
    if (prod > 1e250) {
      shift += Math.log(prod);
      prod = 1;
    }
  }
  shift += Math.log(prod);
  return (y - 0.5) * Math.log(y) - y + LN_SQRT_2PI + stirlingCorrection(y) - shift;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), without the cancellation of large ln Γ values. */
export function logBeta(a: number, b: number): number {
  const small = Math.min(a, b);
  const large = Math.max(a, b);
  if (large < 15) return logGamma(a) + logGamma(b) - logGamma(a + b);
  // ln Γ(large) − ln Γ(small + large) with the Stirling terms subtracted analytically, so that
  // a small shape against a huge one (k = 3 of n = 10⁶) keeps its relative precision.
  const sum = small + large;
  return (
    logGamma(small) +
    stirlingCorrection(large) -
    stirlingCorrection(sum) -
    (large - 0.5) * Math.log1p(small / large) -
    small * Math.log(sum) +
    small
  );
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  // DLMF 8.17.22 continued fraction, evaluated with the modified Lentz method.
  const maxIter = 10000 + Math.ceil(10 * Math.sqrt(Math.max(a, b)));
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = Math.abs(d) < TINY ? TINY : d;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIter; m++) {
    const m2 = 2 * m;
    let coef = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + coef * d;
    d = Math.abs(d) < TINY ? TINY : d;
    c = 1 + coef / c;
    c = Math.abs(c) < TINY ? TINY : c;
    d = 1 / d;
    h *= d * c;
    coef = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + coef * d;
    d = Math.abs(d) < TINY ? TINY : d;
    c = 1 + coef / c;
    c = Math.abs(c) < TINY ? TINY : c;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 3e-16) return h;
  }
  return h;
}

function checkBetaArgs(name: string, a: number, b: number): void {
  if (!(a > 0) || !(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw invalid(`${name}: shape parameters must be positive and finite; found a=${a}, b=${b}`);
  }
}

/** The regularized incomplete beta function I_x(a, b) for 0 ≤ x ≤ 1, a, b > 0. */
export function regularizedBeta(x: number, a: number, b: number): number {
  checkBetaArgs('regularizedBeta', a, b);
  if (!(x >= 0 && x <= 1)) throw invalid(`regularizedBeta: x must be in [0, 1]; found ${x}`);
  if (x === 0) return 0;
  if (x === 1) return 1;
  const lnFront = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  // The continued fraction converges fast only left of the mode; use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) past it.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaUpper(x: number, a: number, b: number): number {
  // 1 − I_x(a,b) computed directly so that the upper tail keeps its relative precision.
  if (x === 0) return 1;
  if (x === 1) return 0;
  return regularizedBeta(1 - x, b, a);
}

/**
 * The inverse of the regularized incomplete beta: the x in [0, 1] with
 * I_x(a, b) = p. Safeguarded Newton iteration inside a shrinking bracket,
 * solved in the smaller tail for precision.
 */
export function inverseRegularizedBeta(p: number, a: number, b: number): number {
  checkBetaArgs('inverseRegularizedBeta', a, b);
  if (!(p >= 0 && p <= 1)) throw invalid(`inverseRegularizedBeta: p must be in [0, 1]; found ${p}`);
  if (p === 0) return 0;
  if (p === 1) return 1;
  if (p > 0.5) return 1 - solveLowerTail(1 - p, b, a);
  return solveLowerTail(p, a, b);
}

function solveLowerTail(p: number, a: number, b: number): number {
  const lnB = logBeta(a, b);
  const f = (x: number): number => regularizedBeta(x, a, b) - p;
  // Two starting guesses: the small-x expansion I_x ≈ x^a / (a B(a,b)) and a normal approximation of the beta.
  const guesses: number[] = [];
  const g1 = Math.exp((Math.log(p) + Math.log(a) + lnB) / a);
  if (g1 > 0 && g1 < 1) guesses.push(g1);
  const mean = a / (a + b);
  const sd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
  const g2 = mean + normalQuantile(p) * sd;
  if (g2 > 0 && g2 < 1) guesses.push(g2);
  guesses.push(mean);
  let x = guesses[0]!;
  let fx = f(x);
  for (const g of guesses.slice(1)) {
    const fg = f(g);
    if (Math.abs(fg) < Math.abs(fx)) {
      x = g;
      fx = fg;
    }
  }
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 400; i++) {
    if (fx === 0) return x;
    if (fx < 0) lo = x;
    else hi = x;
    const lnDensity = (a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - lnB;
    let next = x - fx / Math.exp(lnDensity);
    if (!(next > lo && next < hi)) {
      // Newton left the bracket: bisect, geometrically near 0 so that tiny quantiles are reached in few steps.
      next = lo === 0 ? hi / 16 : (lo + hi) / 2;
    }
    const converged = Math.abs(next - x) <= 1e-15 * x || hi - lo <= 1e-15 * hi;
    x = next;
    fx = f(x);
    if (converged) return x;
  }
  return x;
}

/** Result of a binomial proportion interval. */
export interface ProportionInterval {
  /** Centre of the interval (for Wilson, the shifted centre, not k/n). */
  centre: number;
  /** Half the width: (high − low) / 2. */
  halfWidth: number;
  low: number;
  high: number;
}

function checkCounts(name: string, k: number, n: number): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 0 || k > n) {
    throw invalid(`${name}: expected integers 0 ≤ successes ≤ n and n ≥ 1; found successes=${k}, n=${n}`);
  }
}

/**
 * Wilson score interval for a binomial proportion at a two-sided `confidence`
 * (default 0.95). Returns the Wilson centre (p̂ + z²/2n)/(1 + z²/n) and its
 * half-width, so 850 of 1000 gives 0.849 ± 0.022.
 */
export function wilson(successes: number, n: number, confidence = 0.95): ProportionInterval {
  checkCounts('wilson', successes, n);
  if (!(confidence > 0 && confidence < 1)) throw invalid(`wilson: confidence must be in (0, 1); found ${confidence}`);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const z2 = z * z;
  const phat = successes / n;
  const denom = 1 + z2 / n;
  const centre = (phat + z2 / (2 * n)) / denom;
  const halfWidth = (z / denom) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
  return { centre, halfWidth, low: Math.max(0, centre - halfWidth), high: Math.min(1, centre + halfWidth) };
}

/**
 * Clopper–Pearson ("exact") interval for k successes in n trials at level
 * 1 − alpha (default alpha 0.05), two-sided: each tail gets alpha/2. The bounds
 * are beta quantiles: low = B⁻¹(alpha/2; k, n−k+1), high = B⁻¹(1−alpha/2; k+1, n−k).
 * For a one-sided bound at level 1 − a, call with alpha = 2a and take one side.
 */
export function clopperPearson(k: number, n: number, alpha = 0.05): ProportionInterval {
  checkCounts('clopperPearson', k, n);
  if (!(alpha > 0 && alpha < 1)) throw invalid(`clopperPearson: alpha must be in (0, 1); found ${alpha}`);
  const low = k === 0 ? 0 : inverseRegularizedBeta(alpha / 2, k, n - k + 1);
  const high = k === n ? 1 : inverseRegularizedBeta(1 - alpha / 2, k + 1, n - k);
  return { centre: (low + high) / 2, halfWidth: (high - low) / 2, low, high };
}

/** Binomial lower tail P(X ≤ k) for X ~ Bin(n, p), via the incomplete beta (exact, no summation). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (!(p >= 0 && p <= 1)) throw invalid(`binomialCdf: p must be in [0, 1]; found ${p}`);
  if (k < 0) return 0;
  if (k >= n) return 1;
  const kk = Math.floor(k);
  if (p === 0) return 1;
  if (p === 1) return 0;
  return betaUpper(p, kk + 1, n - kk);
}

/** Binomial upper tail P(X ≥ k) for X ~ Bin(n, p), via the incomplete beta. */
export function binomialSf(k: number, n: number, p: number): number {
  if (!(p >= 0 && p <= 1)) throw invalid(`binomialSf: p must be in [0, 1]; found ${p}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  const kk = Math.ceil(k);
  if (p === 0) return 0;
  if (p === 1) return 1;
  return regularizedBeta(p, kk, n - kk + 1);
}

/** Binomial probability mass P(X = k), computed in log space. */
export function binomialPmf(k: number, n: number, p: number): number {
  if (!Number.isInteger(k) || k < 0 || k > n) return 0;
  if (p === 0) return k === 0 ? 1 : 0;
  if (p === 1) return k === n ? 1 : 0;
  const lnChoose = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
  return Math.exp(lnChoose + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/**
 * Standard deviation of the ROC AUC under the null (no signal):
 * σ0 = sqrt((n⁺ + n⁻ + 1) / (12 n⁺ n⁻)) (Mann–Whitney; AUDIT.md C).
 * 199 members and 86 non-members give 0.03732.
 */
export function aucNullSigma(nPositive: number, nNegative: number): number {
  if (!(nPositive >= 1 && nNegative >= 1)) {
    throw invalid(`aucNullSigma: both group sizes must be at least 1; found ${nPositive} and ${nNegative}`);
  }
  return Math.sqrt((nPositive + nNegative + 1) / (12 * nPositive * nNegative));
}
