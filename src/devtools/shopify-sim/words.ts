/** Word lists for the generator; short on purpose, combined they give plenty of variety. */

/** Vendors a small apparel/outdoor shop might carry. */
export const VENDORS = [
  'Acme Outfitters',
  'Northwind Goods',
  'Blue Ridge Supply',
  'Harbor & Pine',
  'Copper Kettle',
  'Evergreen Co',
  'Summit Gear',
  'Lakeside Living',
  'Atlas Craft',
  'Maple Street',
] as const;

/** Product types paired with the option axis that makes sense for them. */
export const PRODUCT_TYPES = [
  {
    type: 'T-Shirt',
    nouns: ['Tee', 'T-Shirt', 'Crew Tee'],
    option: 'Size',
    values: ['XS', 'S', 'M', 'L', 'XL'],
  },
  {
    type: 'Hoodie',
    nouns: ['Hoodie', 'Pullover', 'Zip Hoodie'],
    option: 'Size',
    values: ['S', 'M', 'L', 'XL'],
  },
  {
    type: 'Mug',
    nouns: ['Mug', 'Tumbler', 'Cup'],
    option: 'Color',
    values: ['Black', 'White', 'Sage', 'Navy'],
  },
  {
    type: 'Backpack',
    nouns: ['Backpack', 'Daypack', 'Rucksack'],
    option: 'Color',
    values: ['Olive', 'Black', 'Rust'],
  },
  {
    type: 'Candle',
    nouns: ['Candle', 'Votive', 'Soy Candle'],
    option: 'Scent',
    values: ['Cedar', 'Citrus', 'Lavender'],
  },
  { type: 'Poster', nouns: ['Poster', 'Print', 'Art Print'], option: 'Size', values: ['A4', 'A3', 'A2'] },
  { type: 'Socks', nouns: ['Socks', 'Crew Socks', 'Trail Socks'], option: 'Size', values: ['S/M', 'L/XL'] },
  {
    type: 'Cap',
    nouns: ['Cap', 'Beanie', 'Trucker Hat'],
    option: 'Color',
    values: ['Black', 'Khaki', 'Forest'],
  },
] as const;

/** Title adjectives. */
export const ADJECTIVES = [
  'Classic',
  'Everyday',
  'Vintage',
  'Organic',
  'Heavyweight',
  'Lightweight',
  'Alpine',
  'Coastal',
  'Midnight',
  'Sunrise',
  'Rugged',
  'Soft',
  'Limited',
  'Signature',
  'Essential',
  'Trailhead',
] as const;

/** Product tags. */
export const TAGS = [
  'new',
  'bestseller',
  'sale',
  'summer',
  'winter',
  'gift',
  'eco',
  'limited',
  'bundle',
  'staff-pick',
] as const;

/** Customer first names. */
export const FIRST_NAMES = [
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Ava',
  'Elijah',
  'Sofia',
  'Mateo',
  'Mia',
  'Lucas',
  'Amara',
  'Kenji',
  'Priya',
  'Diego',
  'Chloe',
  'Omar',
  'Hannah',
  'Wei',
  'Zoe',
  'Samuel',
  'Fatima',
  'Leo',
] as const;

/** Customer last names. */
export const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Garcia',
  'Nguyen',
  'Patel',
  'Kim',
  'Müller',
  'Rossi',
  'Dubois',
  'Silva',
  'Okafor',
  'Tanaka',
  'Cohen',
  'Larsen',
  'Novak',
  'Brown',
  'Lopez',
  'Singh',
  'Wilson',
  'Moreau',
] as const;

/** Addresses: city, province code, country code, zip prefix. */
export const CITIES = [
  {
    city: 'Portland',
    province: 'Oregon',
    provinceCode: 'OR',
    country: 'United States',
    countryCode: 'US',
    zip: '972',
  },
  {
    city: 'Austin',
    province: 'Texas',
    provinceCode: 'TX',
    country: 'United States',
    countryCode: 'US',
    zip: '787',
  },
  {
    city: 'Denver',
    province: 'Colorado',
    provinceCode: 'CO',
    country: 'United States',
    countryCode: 'US',
    zip: '802',
  },
  {
    city: 'Toronto',
    province: 'Ontario',
    provinceCode: 'ON',
    country: 'Canada',
    countryCode: 'CA',
    zip: 'M5V',
  },
  {
    city: 'Vancouver',
    province: 'British Columbia',
    provinceCode: 'BC',
    country: 'Canada',
    countryCode: 'CA',
    zip: 'V6B',
  },
  {
    city: 'London',
    province: 'England',
    provinceCode: 'ENG',
    country: 'United Kingdom',
    countryCode: 'GB',
    zip: 'EC1',
  },
  {
    city: 'Berlin',
    province: 'Berlin',
    provinceCode: 'BE',
    country: 'Germany',
    countryCode: 'DE',
    zip: '101',
  },
] as const;

/** Street names. */
export const STREETS = [
  'Main St',
  'Oak Ave',
  'Pine Rd',
  'Harbor Blvd',
  'Elm St',
  'Market St',
  'Lake Dr',
] as const;

/** Payment gateways seen on orders. */
export const GATEWAYS = ['shopify_payments', 'paypal', 'manual', 'gift_card'] as const;

/** Email domains for generated customers. */
export const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org'] as const;
