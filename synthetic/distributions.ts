/**
 * The marginal distributions the synthetic Taizhou data is drawn from. Rough,
 * plausible figures for a coastal Zhejiang prefecture (not official statistics):
 * weights are relative and need not sum to 1.
 */

/** A categorical distribution: `[value, weight]` pairs. */
export type Categorical = ReadonlyArray<readonly [string, number]>;

/** The date ages are measured at, and the last day of the event window (ISO). */
export const REFERENCE_DATE = '2025-12-31';

/** First day of the event window (medical visits, insurance payments) (ISO). */
export const EVENT_WINDOW_START = '2024-01-01';

/**
 * Share of residents (percent) per five-year age group, 0–4 … 95–100; about
 * 20.5 % are 60 or older. The last group covers six single years (95–100).
 */
export const AGE_GROUP_PERCENT: readonly number[] = [
  4.5, 5.0, 5.0, 4.6, 5.0, 6.8, 8.6, 7.6, 7.0, 8.4, 9.2, 7.8, // 0–59
  5.9, 5.2, 3.9, 2.6, 1.7, 0.8, 0.3, 0.1, // 60–100
];

/** Relative weight of each single year of age 0–100 (index = age), spreading each group evenly. */
export function singleYearAgeWeights(): number[] {
  const out: number[] = [];
  for (let age = 0; age <= 100; age++) {
    const group = Math.min(Math.floor(age / 5), AGE_GROUP_PERCENT.length - 1);
    const width = group === AGE_GROUP_PERCENT.length - 1 ? 6 : 5;
    out.push(AGE_GROUP_PERCENT[group]! / width);
  }
  return out;
}

/** Share of males among residents. */
export const MALE_SHARE = 0.512;

/** Highest education completed (or in progress, for pupils), by age band. */
export const EDUCATION_BY_AGE: ReadonlyArray<{ maxAge: number; dist: Categorical }> = [
  { maxAge: 6, dist: [['学龄前', 1]] },
  { maxAge: 12, dist: [['小学', 1]] },
  { maxAge: 15, dist: [['初中', 1]] },
  { maxAge: 18, dist: [['高中/中专', 85], ['初中', 15]] },
  { maxAge: 22, dist: [['高中/中专', 40], ['初中', 25], ['大专', 20], ['本科', 15]] },
  { maxAge: 39, dist: [['未上学', 0.5], ['小学', 5], ['初中', 30], ['高中/中专', 22], ['大专', 18], ['本科', 21], ['研究生', 3.5]] },
  { maxAge: 59, dist: [['未上学', 2], ['小学', 22], ['初中', 43], ['高中/中专', 20], ['大专', 7], ['本科', 5.5], ['研究生', 0.5]] },
  { maxAge: 74, dist: [['未上学', 10], ['小学', 45], ['初中', 30], ['高中/中专', 11], ['大专', 2.5], ['本科', 1.5]] },
  { maxAge: 200, dist: [['未上学', 35], ['小学', 45], ['初中', 13], ['高中/中专', 5], ['大专', 1.5], ['本科', 0.5]] },
];

/** Occupation (GB/T 6565 major groups, plus students, retirees and the non-employed) by age band. */
export const OCCUPATION_BY_AGE: ReadonlyArray<{ maxAge: number; dist: Categorical }> = [
  { maxAge: 6, dist: [['学龄前儿童', 1]] },
  { maxAge: 17, dist: [['在校学生', 1]] },
  { maxAge: 22, dist: [['在校学生', 60], ['生产制造及有关人员', 20], ['社会生产服务和生活服务人员', 15], ['无业', 5]] },
  { maxAge: 59, dist: [
    ['生产制造及有关人员', 32], ['社会生产服务和生活服务人员', 20], ['农、林、牧、渔业生产及辅助人员', 10],
    ['专业技术人员', 12], ['办事人员和有关人员', 8], ['单位负责人', 3], ['个体工商户', 9], ['无业', 6],
  ] },
  { maxAge: 200, dist: [['离退休', 70], ['农、林、牧、渔业生产及辅助人员', 15], ['无业', 10], ['个体工商户', 5]] },
];

/** Occupations whose holders pay employee social insurance (the rest pay resident schemes). */
export const EMPLOYEE_OCCUPATIONS: readonly string[] = [
  '生产制造及有关人员', '社会生产服务和生活服务人员', '专业技术人员', '办事人员和有关人员', '单位负责人',
];

/** Marital status by age band. */
export const MARITAL_BY_AGE: ReadonlyArray<{ maxAge: number; dist: Categorical }> = [
  { maxAge: 19, dist: [['未婚', 1]] },
  { maxAge: 24, dist: [['未婚', 75], ['已婚', 24], ['离婚', 1]] },
  { maxAge: 29, dist: [['未婚', 45], ['已婚', 53], ['离婚', 2]] },
  { maxAge: 39, dist: [['未婚', 12], ['已婚', 83], ['离婚', 4.5], ['丧偶', 0.5]] },
  { maxAge: 59, dist: [['未婚', 3], ['已婚', 88], ['离婚', 6], ['丧偶', 3]] },
  { maxAge: 74, dist: [['未婚', 1.5], ['已婚', 82], ['离婚', 4], ['丧偶', 12.5]] },
  { maxAge: 200, dist: [['未婚', 1], ['已婚', 55], ['离婚', 2], ['丧偶', 42]] },
];

/** Annual personal income band by occupation; `*` is every other occupation. */
export const INCOME_BY_OCCUPATION: ReadonlyArray<{ occupations: readonly string[] | '*'; dist: Categorical }> = [
  { occupations: ['学龄前儿童', '在校学生'], dist: [['无收入', 97], ['3万以下', 3]] },
  { occupations: ['无业'], dist: [['无收入', 80], ['3万以下', 20]] },
  { occupations: ['离退休'], dist: [['3万以下', 40], ['3-6万', 45], ['6-10万', 13], ['10-20万', 2]] },
  { occupations: ['农、林、牧、渔业生产及辅助人员'], dist: [['3万以下', 40], ['3-6万', 45], ['6-10万', 13], ['10-20万', 2]] },
  { occupations: ['专业技术人员', '单位负责人'], dist: [['3-6万', 10], ['6-10万', 30], ['10-20万', 40], ['20-50万', 16], ['50万以上', 4]] },
  { occupations: ['个体工商户'], dist: [['3万以下', 15], ['3-6万', 30], ['6-10万', 25], ['10-20万', 18], ['20-50万', 9], ['50万以上', 3]] },
  { occupations: '*', dist: [['3万以下', 5], ['3-6万', 35], ['6-10万', 40], ['10-20万', 17], ['20-50万', 3]] },
];

/** Monthly contribution base (yuan) used for employee social insurance, by income band. */
export const CONTRIBUTION_BASE_BY_INCOME: Readonly<Record<string, number>> = {
  '无收入': 4462, '3万以下': 4462, '3-6万': 4462, '6-10万': 6500, '10-20万': 12000, '20-50万': 22311, '50万以上': 22311,
};

/** Lowest and highest monthly contribution base (yuan). */
export const CONTRIBUTION_BASE_RANGE = { min: 4462, max: 22311 } as const;

/** Industry (GB/T 4754 sections) of registered enterprises, with words used in their names. */
export const INDUSTRIES: ReadonlyArray<{ value: string; weight: number; words: readonly string[] }> = [
  { value: 'C 制造业', weight: 38, words: ['机电', '塑业', '汽车零部件', '模具', '泵业', '缝制设备', '医药化工', '阀门', '鞋业', '眼镜', '水暖器材', '电器'] },
  { value: 'F 批发和零售业', weight: 28, words: ['贸易', '商贸', '五金', '建材', '电子商务', '进出口'] },
  { value: 'E 建筑业', weight: 5, words: ['建设', '建筑工程', '装饰工程'] },
  { value: 'G 交通运输、仓储和邮政业', weight: 4, words: ['物流', '运输', '货运'] },
  { value: 'H 住宿和餐饮业', weight: 6, words: ['餐饮管理', '酒店', '农家乐'] },
  { value: 'A 农、林、牧、渔业', weight: 4, words: ['农业开发', '水产养殖', '果蔬', '茶业'] },
  { value: 'I 信息传输、软件和信息技术服务业', weight: 3, words: ['网络科技', '信息技术', '软件'] },
  { value: 'L 租赁和商务服务业', weight: 5, words: ['企业管理', '广告', '人力资源'] },
  { value: 'M 科学研究和技术服务业', weight: 3, words: ['检测技术', '工程设计', '科技'] },
  { value: 'O 居民服务、修理和其他服务业', weight: 4, words: ['家政服务', '汽车维修', '美容美发'] },
];

/** Mainland mobile number prefixes (first three digits) in use. */
export const MOBILE_PREFIXES: readonly string[] = [
  '130', '131', '132', '133', '134', '135', '136', '137', '138', '139', '150', '151', '152', '153', '155', '156',
  '157', '158', '159', '166', '173', '176', '177', '178', '180', '181', '182', '183', '187', '188', '189', '191',
  '198', '199',
];

/** ICD-10 chapters with a typical outpatient cost (yuan) for each. */
export const ICD10_CHAPTERS: ReadonlyArray<{ value: string; cost: number }> = [
  { value: 'I 某些传染病和寄生虫病', cost: 260 },
  { value: 'II 肿瘤', cost: 1800 },
  { value: 'III 血液及造血器官疾病和某些涉及免疫机制的疾患', cost: 420 },
  { value: 'IV 内分泌、营养和代谢疾病', cost: 380 },
  { value: 'V 精神和行为障碍', cost: 450 },
  { value: 'VI 神经系统疾病', cost: 520 },
  { value: 'VII 眼和附器疾病', cost: 300 },
  { value: 'VIII 耳和乳突疾病', cost: 240 },
  { value: 'IX 循环系统疾病', cost: 460 },
  { value: 'X 呼吸系统疾病', cost: 230 },
  { value: 'XI 消化系统疾病', cost: 350 },
  { value: 'XII 皮肤和皮下组织疾病', cost: 180 },
  { value: 'XIII 肌肉骨骼系统和结缔组织疾病', cost: 320 },
  { value: 'XIV 泌尿生殖系统疾病', cost: 340 },
  { value: 'XV 妊娠、分娩和产褥期', cost: 600 },
  { value: 'XVI 起源于围生期的某些情况', cost: 700 },
  { value: 'XVII 先天性畸形、变形和染色体异常', cost: 900 },
  { value: 'XVIII 症状、体征和临床与实验室异常所见', cost: 200 },
  { value: 'XIX 损伤、中毒和外因的某些其他后果', cost: 380 },
  { value: 'XXI 影响健康状态和与保健机构接触的因素', cost: 150 },
];

/**
 * Weight of each ICD-10 chapter (same order as {@link ICD10_CHAPTERS}) per patient
 * group: 0 children under 15, 1 men 15–59, 2 women 15–49, 3 women 50–59,
 * 4 people 60–74, 5 people 75 and older.
 */
export const ICD10_WEIGHTS_BY_GROUP: ReadonlyArray<readonly number[]> = [
  [14, 0.3, 1, 1, 1.5, 3, 6, 5, 0.5, 38, 10, 6, 1, 1.5, 0, 2, 2, 4, 6, 3],
  [4, 3, 1, 7, 4, 5, 5, 3, 12, 17, 13, 6, 9, 4, 0, 0, 0.2, 4, 8, 3],
  [3, 3, 2, 5, 5, 5, 5, 3, 5, 15, 11, 7, 7, 9, 9, 0, 0.2, 4, 5, 5],
  [2, 5, 2, 10, 4, 5, 6, 3, 14, 12, 11, 5, 11, 8, 0, 0, 0.1, 4, 4, 4],
  [2, 8, 2, 14, 2, 6, 7, 3, 24, 10, 8, 2, 10, 5, 0, 0, 0, 3, 3, 2],
  [2, 9, 3, 13, 4, 8, 6, 3, 27, 13, 7, 2, 7, 4, 0, 0, 0, 3, 4, 2],
];

/** Relative expected number of medical visits per person, by age band (the elderly visit more). */
export const VISIT_RATE_BY_AGE: ReadonlyArray<{ maxAge: number; rate: number }> = [
  { maxAge: 4, rate: 2.0 }, { maxAge: 14, rate: 0.8 }, { maxAge: 44, rate: 0.9 }, { maxAge: 59, rate: 1.5 },
  { maxAge: 74, rate: 3.0 }, { maxAge: 200, rate: 4.0 },
];

/** City-level hospitals of Taizhou a resident of any area may visit. */
export const CITY_HOSPITALS: readonly string[] = ['台州市中心医院', '台州市第一人民医院', '浙江省台州医院', '台州市中医院'];

/** Commercial insurance products by policyholder age band. */
export const PRODUCTS_BY_AGE: ReadonlyArray<{ maxAge: number; dist: Categorical }> = [
  { maxAge: 17, dist: [['少儿重疾险', 40], ['百万医疗险', 30], ['惠民保', 20], ['意外险', 10]] },
  { maxAge: 59, dist: [['百万医疗险', 30], ['重疾险', 25], ['意外险', 15], ['定期寿险', 10], ['惠民保', 12], ['养老年金险', 8]] },
  { maxAge: 200, dist: [['惠民保', 55], ['意外险', 25], ['百万医疗险', 10], ['养老年金险', 10]] },
];

/** Relative expected number of commercial policies per person, by age band. */
export const POLICY_RATE_BY_AGE: ReadonlyArray<{ maxAge: number; rate: number }> = [
  { maxAge: 24, rate: 0.6 }, { maxAge: 54, rate: 1.4 }, { maxAge: 64, rate: 1.0 }, { maxAge: 200, rate: 0.5 },
];
