/*
 * The demo catalog `storeops catalog seed` loads (issue 11; seed 002's `populate_products.py`): the
 * seed's four categories and eight products in each, with variants (sizes, colours, formats),
 * prices, stock levels and a picture description. Built from fixed lists and a seeded PRNG, so
 * every run and every machine produce the same catalog.
 */

/** mulberry32: a small, fast, seeded PRNG (the same numbers on every run). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type SeedVariant = {
  sku: string;
  option1?: string;
  option2?: string;
  /** Price in hundredths of the currency's major unit (converted to its minor units when loaded). */
  cents: number;
  compareAtCents?: number;
  weightGrams: number;
  onHand: number;
};

export type SeedProduct = {
  handle: string;
  title: string;
  category: string;
  vendor: string;
  tags: string[];
  descriptionHtml: string;
  optionNames: string[];
  variants: SeedVariant[];
  /** What the generated picture shows. */
  picture: { hue: number; shape: 'circle' | 'square' | 'book' | 'house'; label: string };
};

export const SEED_CATEGORIES = [
  { handle: 'electronics', name: 'Electronics', description: 'Audio, wearables and desk gear.' },
  { handle: 'clothing', name: 'Clothing', description: 'Everyday clothes in organic cotton and wool.' },
  { handle: 'books', name: 'Books', description: 'Novels and non-fiction in print and as e-books.' },
  { handle: 'home', name: 'Home', description: 'Things for the kitchen, the living room and the garden.' },
] as const;

type Template = { title: string; vendor: string; cents: number; grams: number; blurb: string };

const ELECTRONICS: Template[] = [
  {
    title: 'Wireless Headphones',
    vendor: 'Sonora',
    cents: 12999,
    grams: 250,
    blurb: 'Noise cancelling, 30-hour battery.',
  },
  {
    title: 'Bluetooth Speaker',
    vendor: 'Sonora',
    cents: 5999,
    grams: 540,
    blurb: 'Waterproof, room-filling sound.',
  },
  {
    title: 'Smartwatch',
    vendor: 'Pulse',
    cents: 19900,
    grams: 45,
    blurb: 'Heart rate, GPS and a week per charge.',
  },
  {
    title: 'Mechanical Keyboard',
    vendor: 'Keyworks',
    cents: 8900,
    grams: 900,
    blurb: 'Hot-swappable switches, aluminium case.',
  },
  {
    title: 'Wireless Mouse',
    vendor: 'Keyworks',
    cents: 2999,
    grams: 95,
    blurb: 'Silent clicks, USB-C charging.',
  },
  { title: 'HD Webcam', vendor: 'Lumen', cents: 4999, grams: 160, blurb: '1080p with a privacy shutter.' },
  {
    title: 'USB-C Charger',
    vendor: 'Volta',
    cents: 2499,
    grams: 120,
    blurb: '65 W, charges a laptop and a phone.',
  },
  {
    title: 'E-Reader',
    vendor: 'Paperlight',
    cents: 10900,
    grams: 180,
    blurb: 'Glare-free screen, weeks of reading.',
  },
];
const CLOTHING: Template[] = [
  {
    title: 'Organic Cotton T-Shirt',
    vendor: 'Fieldwear',
    cents: 1999,
    grams: 180,
    blurb: 'Soft, breathable, made to last.',
  },
  {
    title: 'Zip Hoodie',
    vendor: 'Fieldwear',
    cents: 4999,
    grams: 520,
    blurb: 'Brushed fleece inside, roomy pockets.',
  },
  {
    title: 'Slim Jeans',
    vendor: 'Indigo & Co',
    cents: 6900,
    grams: 650,
    blurb: 'Stretch denim that keeps its shape.',
  },
  {
    title: 'Wool Socks',
    vendor: 'Northknit',
    cents: 1299,
    grams: 80,
    blurb: 'Merino blend, warm and never itchy.',
  },
  {
    title: 'Rain Jacket',
    vendor: 'Northknit',
    cents: 8900,
    grams: 450,
    blurb: 'Taped seams, packs into its pocket.',
  },
  {
    title: 'Baseball Cap',
    vendor: 'Fieldwear',
    cents: 1799,
    grams: 90,
    blurb: 'Adjustable strap, curved brim.',
  },
  {
    title: 'Knit Scarf',
    vendor: 'Northknit',
    cents: 2499,
    grams: 150,
    blurb: 'Chunky rib knit in soft wool.',
  },
  {
    title: 'Canvas Sneakers',
    vendor: 'Stride',
    cents: 5499,
    grams: 700,
    blurb: 'Vulcanised sole, cushioned insole.',
  },
];
const BOOKS: Template[] = [
  {
    title: 'The Silent Harbour',
    vendor: 'Tidewater Press',
    cents: 1499,
    grams: 350,
    blurb: 'A mystery on a fogbound coast.',
  },
  {
    title: 'Stars Over Kilimanjaro',
    vendor: 'Summit Books',
    cents: 1899,
    grams: 420,
    blurb: 'A climber’s memoir of one long night.',
  },
  {
    title: 'Cooking With Fire',
    vendor: 'Hearth House',
    cents: 2999,
    grams: 900,
    blurb: 'Ninety recipes for grill and hearth.',
  },
  {
    title: 'A Short History of Numbers',
    vendor: 'Axiom',
    cents: 1699,
    grams: 380,
    blurb: 'From tally sticks to zero and beyond.',
  },
  {
    title: 'Gardens of Tomorrow',
    vendor: 'Greenleaf',
    cents: 2499,
    grams: 600,
    blurb: 'Planting for a hotter climate.',
  },
  {
    title: 'The Clockmaker’s Daughter',
    vendor: 'Tidewater Press',
    cents: 1399,
    grams: 340,
    blurb: 'A family saga across a century.',
  },
  {
    title: 'Learning TypeScript',
    vendor: 'Axiom',
    cents: 3999,
    grams: 800,
    blurb: 'Types that catch bugs before users do.',
  },
  {
    title: 'Birds of the North',
    vendor: 'Greenleaf',
    cents: 2199,
    grams: 500,
    blurb: 'A field guide with 300 illustrations.',
  },
];
const HOME: Template[] = [
  {
    title: 'Stoneware Mug',
    vendor: 'Kiln & Co',
    cents: 1499,
    grams: 350,
    blurb: 'Hand-glazed, holds 350 ml.',
  },
  {
    title: 'Desk Lamp',
    vendor: 'Lumen',
    cents: 3999,
    grams: 1200,
    blurb: 'Dimmable warm light, adjustable arm.',
  },
  {
    title: 'Linen Cushion',
    vendor: 'Loom',
    cents: 2999,
    grams: 400,
    blurb: 'Washed linen cover, feather insert.',
  },
  { title: 'Soy Candle', vendor: 'Wick', cents: 1899, grams: 300, blurb: 'Forty hours of a cedar scent.' },
  {
    title: 'Ceramic Plant Pot',
    vendor: 'Kiln & Co',
    cents: 2299,
    grams: 900,
    blurb: 'With a drainage hole and saucer.',
  },
  {
    title: 'Wool Throw Blanket',
    vendor: 'Loom',
    cents: 7900,
    grams: 1400,
    blurb: 'Woven lambswool, 130 × 170 cm.',
  },
  {
    title: 'Electric Kettle',
    vendor: 'Volta',
    cents: 4999,
    grams: 1100,
    blurb: 'Temperature control for tea and coffee.',
  },
  {
    title: 'Wall Clock',
    vendor: 'Tempo',
    cents: 3499,
    grams: 700,
    blurb: 'Silent sweep movement, oak frame.',
  },
];

const COLOURS = ['Black', 'White', 'Navy', 'Olive', 'Sand', 'Red'];
const SIZES = ['S', 'M', 'L', 'XL'];
const FORMATS: [string, number][] = [
  ['Paperback', 1],
  ['Hardcover', 1.6],
  ['E-book', 0.6],
];

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[’']/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const skuOf = (handle: string, ...parts: string[]) =>
  [
    'DEMO',
    handle
      .split('-')
      .map((w) => w.slice(0, 3))
      .join('')
      .toUpperCase(),
    ...parts.map((p) => p.slice(0, 3).toUpperCase()),
  ].join('-');
/** Whole hundredths ending in 9 or 0 (no floats: rounding on integers). */
const cents = (value: number) => Math.max(99, Math.round(value / 100) * 100 - 1);

/** The demo catalog: 32 products, 4 categories, about 100 variants. */
export function demoCatalog(seed = 67): SeedProduct[] {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const stock = () => (random() < 0.15 ? Math.floor(random() * 4) : 5 + Math.floor(random() * 60));
  const pickColours = (n: number) => {
    const start = Math.floor(random() * COLOURS.length);
    return Array.from({ length: n }, (_, i) => COLOURS[(start + i) % COLOURS.length]);
  };
  const products: SeedProduct[] = [];
  const groups: [string, Template[], SeedProduct['picture']['shape']][] = [
    ['electronics', ELECTRONICS, 'circle'],
    ['clothing', CLOTHING, 'square'],
    ['books', BOOKS, 'book'],
    ['home', HOME, 'house'],
  ];
  for (const [category, templates, shape] of groups)
    for (const t of templates) {
      const handle = slug(t.title);
      let optionNames: string[] = [];
      let variants: SeedVariant[];
      const sale = random() < 0.25;
      const compare = (c: number) => (sale ? cents(c * 1.25) : undefined);
      if (category === 'clothing') {
        optionNames = ['Size', 'Colour'];
        const colours = pickColours(2);
        variants = SIZES.slice(0, 3).flatMap((size) =>
          colours.map((colour) => ({
            sku: skuOf(handle, size, colour),
            option1: size,
            option2: colour,
            cents: t.cents,
            compareAtCents: compare(t.cents),
            weightGrams: t.grams,
            onHand: stock(),
          })),
        );
      } else if (category === 'books') {
        optionNames = ['Format'];
        variants = FORMATS.map(([format, factor]) => ({
          sku: skuOf(handle, format),
          option1: format,
          cents: cents(t.cents * factor),
          weightGrams: format === 'E-book' ? 0 : Math.round(t.grams * factor),
          onHand: format === 'E-book' ? 1000 : stock(),
        }));
      } else {
        optionNames = ['Colour'];
        variants = pickColours(random() < 0.5 ? 2 : 3).map((colour, i) => ({
          sku: skuOf(handle, colour),
          option1: colour,
          cents: i === 0 ? t.cents : t.cents + 500,
          compareAtCents: compare(t.cents),
          weightGrams: t.grams,
          onHand: stock(),
        }));
      }
      products.push({
        handle,
        title: t.title,
        category,
        vendor: t.vendor,
        tags: [category, pick(['new', 'bestseller', 'gift', 'eco', 'classic']), t.vendor.toLowerCase()],
        descriptionHtml: `<p>${t.blurb}</p><ul><li>Made by ${t.vendor}</li><li>Ships in ${1 + Math.floor(random() * 3)} days</li></ul>`,
        optionNames,
        variants,
        picture: { hue: Math.floor(random() * 360), shape, label: t.title },
      });
    }
  return products;
}
