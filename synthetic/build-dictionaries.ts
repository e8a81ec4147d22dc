import { Faker, base, zh_CN } from '@faker-js/faker';
import { TAIZHOU_AREAS } from '../transforms/identifiers.js';

/** A word with a relative weight (weights need not sum to 1). */
export interface Weighted {
  value: string;
  weight: number;
}

/** One 街道/镇/乡 and one of its 社区/村, in a given area. */
export interface Place {
  /** Index into TAIZHOU_AREAS. */
  areaIndex: number;
  /** Index of the place within its area, 0-based and dense. */
  placeIndex: number;
  street: string;
  community: string;
}

/** The word lists the generator composes rows from; all derived from one seed. */
export interface Dictionaries {
  surnames: Weighted[];
  /** Given names for people born before about 1975 (weights from seeded sampling). */
  givenOldMale: Weighted[];
  givenOldFemale: Weighted[];
  /** Given names for younger people, from faker's zh_CN lists. */
  givenMale: Weighted[];
  givenFemale: Weighted[];
  places: Place[];
  /** 字号 (trade names) for enterprise names. */
  brands: string[];
}

// The most frequent surnames in Taizhou with rough weights (percent of residents);
// faker's list supplies the long tail, which gets TAIL_PERCENT in all.
const TAIL_PERCENT = 40;
const TOP_SURNAMES: ReadonlyArray<readonly [string, number]> = [
  ['陈', 6.5], ['王', 6.0], ['林', 4.5], ['李', 4.0], ['张', 3.8], ['叶', 2.5], ['周', 2.3], ['金', 2.2],
  ['徐', 2.0], ['蒋', 1.8], ['潘', 1.6], ['杨', 1.6], ['郑', 1.5], ['赵', 1.3], ['黄', 1.3], ['吴', 1.3],
  ['朱', 1.2], ['许', 1.1], ['应', 1.0], ['梁', 0.9], ['罗', 0.8], ['卢', 0.8], ['泮', 0.4], ['屈', 0.3],
];

// Given names common among people born before the 1970s.
const OLD_MALE = ['建国', '建华', '国强', '志明', '德福', '永康', '金根', '根法', '仁友', '家兴', '文华', '伟民',
  '海林', '明华', '卫东', '红军', '正友', '小平', '有福', '荣贵', '水根', '顺法', '桂林', '宝林'];
const OLD_FEMALE = ['秀英', '桂英', '玉兰', '美华', '素芬', '金花', '彩娥', '菊香', '月娥', '爱娟', '雪娥', '翠英',
  '小妹', '春兰', '美娟', '秀珍', '素娥', '丽君', '玲娟', '彩霞', '亚芬', '银娥', '桂香', '凤仙'];

// Characters that Taizhou place names are made of (water, hills, directions).
const PLACE_CHARS = ['东', '西', '南', '北', '新', '江', '海', '山', '城', '桥', '泽', '溪', '塘', '岙', '洋', '浦',
  '港', '门', '前', '后', '上', '下', '横', '大', '石', '沙', '金', '白', '青', '龙', '凤', '章', '安', '峰', '湖',
  '田', '岭', '坦', '头', '宁', '平', '和', '坎', '蓬', '屿', '礁', '家', '园', '湾', '里', '兴', '丰', '乐', '阳'];

// Urban districts are mostly 街道; county-level cities and counties mostly 镇/乡.
const STREETS_PER_AREA: Record<string, { streets: number; towns: number }> = {
  '331002': { streets: 8, towns: 1 },
  '331003': { streets: 8, towns: 6 },
  '331004': { streets: 6, towns: 4 },
  '331022': { streets: 3, towns: 7 },
  '331023': { streets: 3, towns: 12 },
  '331024': { streets: 3, towns: 14 },
  '331081': { streets: 5, towns: 11 },
  '331082': { streets: 5, towns: 14 },
  '331083': { streets: 4, towns: 7 },
};

/** Draws `count` samples of `draw` and returns the distinct values weighted by frequency, in first-seen order. */
function sampleWeighted(draw: () => string, count: number): Weighted[] {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const v = draw();
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts].map(([value, weight]) => ({ value, weight }));
}

/** A two-character place word that is not in `used`. */
function placeWord(faker: Faker, used: Set<string>): string {
  for (;;) {
    const w = faker.helpers.arrayElement(PLACE_CHARS) + faker.helpers.arrayElement(PLACE_CHARS);
    if (w[0] !== w[1] && !used.has(w)) {
      used.add(w);
      return w;
    }
  }
}

/**
 * Builds the generator's word lists with faker's zh_CN locale seeded with `seed`:
 * surnames (Taizhou's frequent ones plus faker's tail), given names by sex and
 * generation, the 街道/镇/乡 and 社区/村 of each Taizhou area, and enterprise
 * trade names. The same seed gives the same lists (faker's own generator, no
 * global state touched).
 */
export function buildDictionaries(seed: number): Dictionaries {
  const faker = new Faker({ locale: [zh_CN, base] });
  faker.seed(seed);

  const top = new Set(TOP_SURNAMES.map(([s]) => s));
  const tail = faker.helpers
    .shuffle([...new Set(Array.from({ length: 2000 }, () => faker.person.lastName()))])
    .filter((s) => !top.has(s));
  // Zipf-like tail, with two-character surnames (欧阳, 司马 …) made rare.
  const tailRaw = tail.map((s, r) => (1 / (r + 1) ** 0.35) * (s.length > 1 ? 0.03 : 1));
  const tailSum = tailRaw.reduce((a, b) => a + b, 0) || 1;
  const surnames: Weighted[] = [
    ...TOP_SURNAMES.map(([value, weight]) => ({ value, weight })),
    ...tail.map((value, r) => ({ value, weight: (tailRaw[r]! / tailSum) * TAIL_PERCENT })),
  ];

  // faker mixes its unisex list into both sexes; names drawn for both are dropped so
  // that a given name agrees with the sex column.
  const maleDraws = sampleWeighted(() => faker.person.firstName('male'), 3000);
  const femaleDraws = sampleWeighted(() => faker.person.firstName('female'), 3000);
  const maleSet = new Set(maleDraws.map((w) => w.value));
  const femaleSet = new Set(femaleDraws.map((w) => w.value));
  const givenMale = maleDraws.filter((w) => !femaleSet.has(w.value));
  const givenFemale = femaleDraws.filter((w) => !maleSet.has(w.value));
  const givenOldMale = sampleWeighted(() => faker.helpers.arrayElement(OLD_MALE), 1000);
  const givenOldFemale = sampleWeighted(() => faker.helpers.arrayElement(OLD_FEMALE), 1000);

  const places: Place[] = [];
  const usedStreet = new Set<string>();
  TAIZHOU_AREAS.forEach((area, areaIndex) => {
    const plan = STREETS_PER_AREA[area.code] ?? { streets: 4, towns: 6 };
    let placeIndex = 0;
    for (let s = 0; s < plan.streets + plan.towns; s++) {
      const isStreet = s < plan.streets;
      const street = placeWord(faker, usedStreet) + (isStreet ? '街道' : faker.number.int({ min: 0, max: 9 }) < 8 ? '镇' : '乡');
      const usedCommunity = new Set<string>();
      const n = faker.number.int({ min: isStreet ? 6 : 10, max: isStreet ? 16 : 28 });
      for (let c = 0; c < n; c++) {
        // 街道 hold mostly 社区, 镇/乡 mostly 村.
        const urban = faker.number.int({ min: 0, max: 9 }) < (isStreet ? 8 : 2);
        const community = placeWord(faker, usedCommunity) + (urban ? '社区' : '村');
        places.push({ areaIndex, placeIndex: placeIndex++, street, community });
      }
    }
  });

  const brands = [...new Set([
    ...Array.from({ length: 400 }, () => faker.person.firstName()),
    ...Array.from({ length: 200 }, () => faker.helpers.arrayElement(PLACE_CHARS) + faker.helpers.arrayElement(['达', '兴', '盛', '鑫', '华', '诚', '发', '利', '顺', '丰', '源', '泰'])),
  ])].filter((b) => b.length === 2);

  return { surnames, givenOldMale, givenOldFemale, givenMale, givenFemale, places, brands };
}
