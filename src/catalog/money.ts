/*
 * Prices as text (the CSV import and export, sample data): integer minor units of the tenant's
 * currency ⇄ decimal strings with that currency's number of decimals. String and integer arithmetic
 * only, never a float, so 0.1 + 0.2 problems cannot creep into a price.
 */

const exponents = new Map<string, number>();

/** Decimals of a currency's minor unit (2 for EUR and USD, 0 for JPY, 3 for KWD), from Intl (CLDR). */
export function currencyExponent(currency: string): number {
  let exponent = exponents.get(currency);
  if (exponent === undefined) {
    exponent = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
    exponents.set(currency, exponent);
  }
  return exponent;
}

/** `1999` with exponent 2 → `"19.99"`; `5` → `"0.05"`; exponent 0 → `"1999"`. */
export function minorToDecimal(minor: number, exponent: number): string {
  if (!Number.isSafeInteger(minor)) throw new Error(`not an integer amount: ${minor}`);
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * `"19.99"` (or `"19.9"`, `"19"`) with exponent 2 → `1999`. Undefined when the text is not a
 * non-negative decimal with at most `exponent` decimals, or is too large to be exact.
 */
export function decimalToMinor(text: string, exponent: number): number | undefined {
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  const minor = Number(match[1] + fraction.padEnd(exponent, '0'));
  return Number.isSafeInteger(minor) ? minor : undefined;
}
