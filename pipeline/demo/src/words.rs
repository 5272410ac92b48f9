//! Fixed word lists and templates of the demo corpus. Editing any of them changes the corpus.
//! Template slots: {N} noun, {P} plural noun, {V} verb (3rd person / zh verb), {B} base verb,
//! {A} adjective, {D} adverb, {M} name, {L} place, {K} quantity, {T} time, {E} English tech term.


/// Topic names, indexing the per-topic lists below.
pub(crate) const TOPICS: [&str; 6] = ["science", "cooking", "travel", "history", "technology", "sports"];
use super::text::ZhSet;

/// English nouns per topic; plurals follow `text::plural`.
pub(crate) const EN_NOUNS: [&[&str]; 6] = [
    &["cell", "atom", "planet", "star", "experiment", "theory", "molecule", "scientist", "laboratory", "sample",
      "galaxy", "particle", "gene", "protein", "telescope", "fossil", "crystal", "climate", "ocean", "reaction",
      "measurement", "signal", "insect", "forest", "microscope", "volcano", "mineral", "orbit", "comet", "magnet"],
    &["recipe", "kitchen", "onion", "tomato", "potato", "sauce", "bread", "soup", "spoon", "pan", "oven", "chef",
      "dish", "flavor", "garlic", "noodle", "cake", "cookie", "herb", "spice", "dinner", "breakfast", "meal",
      "pepper", "lemon", "salad", "cheese", "fruit", "vegetable", "sandwich"],
    &["city", "village", "mountain", "river", "beach", "hotel", "airport", "train", "museum", "island", "map",
      "passport", "ticket", "journey", "tourist", "guide", "valley", "harbor", "market", "bridge", "road", "castle",
      "lake", "suitcase", "station", "border", "coast", "festival", "hostel", "temple"],
    &["empire", "king", "queen", "war", "treaty", "century", "document", "monument", "soldier", "kingdom",
      "revolution", "colony", "emperor", "archive", "historian", "battle", "dynasty", "ruler", "manuscript",
      "tradition", "ancestor", "republic", "artifact", "merchant", "chronicle", "parliament", "scholar", "ship",
      "army", "coin"],
    &["computer", "network", "program", "device", "server", "database", "algorithm", "robot", "phone", "screen",
      "battery", "engineer", "chip", "sensor", "keyboard", "website", "app", "camera", "satellite", "browser",
      "cable", "processor", "model", "system", "tool", "platform", "interface", "drone", "file", "update"],
    &["team", "player", "coach", "match", "game", "ball", "stadium", "goal", "season", "league", "runner", "athlete",
      "race", "medal", "tournament", "fan", "referee", "score", "bicycle", "swimmer", "champion", "record", "court",
      "trophy", "captain", "jersey", "marathon", "workout", "club", "rival"],
];

/// English verbs (base form) per topic.
pub(crate) const EN_VERBS: [&[&str]; 6] = [
    &["measure", "observe", "study", "produce", "absorb", "release", "test", "explain", "predict", "detect",
      "examine", "reflect", "protect"],
    &["cook", "bake", "chop", "mix", "taste", "boil", "serve", "prepare", "slice", "stir", "roast", "grill", "share"],
    &["visit", "explore", "cross", "reach", "book", "discover", "photograph", "follow", "leave", "recommend", "plan",
      "climb", "find"],
    &["rule", "defend", "build", "conquer", "sign", "record", "preserve", "shape", "influence", "destroy", "control",
      "unite", "study"],
    &["process", "store", "connect", "run", "update", "design", "replace", "test", "improve", "download", "install",
      "send", "track"],
    &["win", "lose", "train", "play", "kick", "throw", "defeat", "score", "coach", "watch", "join", "lead",
      "celebrate"],
];

/// English verbs usable with any topic.
pub(crate) const EN_SHARED_VERBS: &[&str] = &[
    "need", "use", "like", "change", "help", "show", "see", "make", "create", "improve", "consider", "describe",
    "understand", "discuss", "remember", "enjoy", "carry", "choose", "notice", "love",
];

/// English adjectives.
pub(crate) const EN_ADJS: &[&str] = &[
    "small", "large", "new", "old", "important", "simple", "complex", "beautiful", "strange", "useful", "famous",
    "ancient", "modern", "popular", "quiet", "bright", "dark", "careful", "different", "common", "rare", "fresh",
    "strong", "gentle", "early", "local", "public", "natural", "traditional", "complete", "difficult", "easy",
    "interesting", "perfect", "huge", "tiny", "warm", "cold", "quick", "serious", "ordinary", "unusual", "powerful",
    "healthy", "remarkable", "lively", "friendly", "clever", "patient", "wonderful",
];

/// English adverbs.
pub(crate) const EN_ADVS: &[&str] = &[
    "quickly", "slowly", "carefully", "often", "rarely", "usually", "always", "sometimes", "easily", "quietly",
    "suddenly", "finally", "really", "almost", "clearly", "certainly", "gently", "together", "again", "seldom",
];

/// English first names.
pub(crate) const EN_NAMES: &[&str] = &[
    "Maria", "David", "Sarah", "James", "Anna", "Thomas", "Emma", "Daniel", "Laura", "Michael", "Sophie", "Peter",
    "Lucy", "George", "Olivia", "Henry", "Alice", "Robert", "Grace", "William", "my grandmother", "our teacher",
];

/// English place and time phrases.
pub(crate) const EN_PLACES: &[&str] = &[
    "in the city", "at home", "in the village", "near the river", "in the morning", "at night", "in the garden",
    "during the summer", "in the north", "across the country", "at school", "on the weekend", "in the old town",
    "by the sea", "in the valley", "around the world", "in the winter", "after lunch", "before dinner", "in the park",
    "at the weekend market", "in small towns",
];

/// English quantities for plural nouns.
pub(crate) const EN_QUANT: &[&str] = &[
    "two", "three", "four", "five", "several", "many", "a few", "a dozen", "twenty", "hundreds of", "most", "some",
    "dozens of", "thousands of",
];

/// English clause templates (no final punctuation, lower-case start).
pub(crate) const EN_CLAUSES: &[&str] = &[
    "the {A} {N} {V} the {N}", "{P} often {B} the {N}", "a {N} can {B} {P} {D}", "{M} {V} that the {N} is {A}",
    "many {P} {B} {L}", "the {N} of the {N} is {A}", "{M} wanted to {B} a {A} {N}", "every {N} needs a {A} {N}",
    "most {P} are {A} {L}", "our {P} {B} the {N} together", "the {N} {V} {D} {L}", "it is {A} to {B} the {N}",
    "{P} and {P} {B} each other", "the {A} {P} {B} with the {N}", "you should {B} the {N} before the {N} {V}",
    "nobody {V} the {N} {D}", "some {P} have a {A} {N}", "{K} {P} {B} the {N} every year",
    "the {N} was {A} and the {P} were {A}", "people who {B} {P} usually {B} the {N}", "this {N} {V} how {P} {B}",
    "there is a {A} {N} near the {N}", "the {N} that {M} {V} is {A}", "we {B} {P} to {B} the {N}",
    "{M} and {M} {D} {B} the {A} {N}", "the {N} looks {A} {L}", "a {A} {N} {V} {K} {P}",
    "{M} has never seen such a {A} {N}", "it took {M} a long time to {B} the {N}", "the story of the {N} is {A}",
    "no one knows why the {N} {V} the {N}", "{K} {P} were {A} {L}", "the {N} seems {A} to {M}",
    "{M} learned to {B} {P} {L}", "a good {N} is {A} and {A}", "they {D} {B} the {N} {L}",
];

/// English sentence openers (template, ends with a comma).
pub(crate) const EN_OPENERS: &[&str] = &[
    "In fact,", "Today,", "For many people,", "In the past,", "As a result,", "However,", "Of course,",
    "At the same time,", "In recent years,", "According to {M},", "On the other hand,", "Surprisingly,",
    "In our experience,", "For this reason,", "Every morning,", "In most cases,", "Last year,", "Even so,", "{L},",
    "Without a doubt,",
];

/// English clause connectors.
pub(crate) const EN_LINKS: &[&str] = &[
    ", and ", ", but ", " because ", " while ", ", so ", " when ", " although ", " since ", ", yet ", " until ",
];

/// English question templates (the generator adds "?").
pub(crate) const EN_QUESTIONS: &[&str] = &[
    "why do {P} {B} the {N}", "how can we {B} a {A} {N}", "have you ever seen a {A} {N}", "what makes the {N} so {A}",
    "is the {N} really {A}", "who will {B} the {N} {L}",
];

/// Simplified Chinese vocabulary (nouns per topic) and templates.
pub(crate) const ZH: ZhSet = ZhSet {
    nouns: [
        &["实验", "研究", "物理学", "化学", "细胞", "宇宙", "星系", "能量", "分子", "数据", "理论", "科学家",
          "实验室", "望远镜", "基因", "气候", "海洋", "化石", "元素", "地球", "火山", "卫星", "病毒", "生物",
          "自然现象"],
        &["米饭", "面条", "饺子", "蔬菜", "猪肉", "鸡蛋", "酱油", "厨房", "菜谱", "味道", "火锅", "豆腐", "包子",
          "汤", "水果", "调料", "厨师", "早餐", "晚饭", "家常菜", "红烧肉", "小吃", "月饼", "茶叶", "面包"],
        &["城市", "酒店", "景点", "机场", "火车", "博物馆", "长城", "风景", "游客", "地图", "古镇", "高铁", "护照",
          "门票", "导游", "寺庙", "海边", "公园", "旅行社", "行李", "山区", "湖泊", "民宿", "夜市", "签证"],
        &["朝代", "皇帝", "文化", "古代", "文物", "战争", "历史学家", "传统", "文字", "宫殿", "丝绸之路", "王朝",
          "史书", "古籍", "考古", "遗址", "制度", "科举", "诗人", "书法", "青铜器", "农民", "商人", "城墙", "典籍"],
        &["手机", "电脑", "软件", "网络", "人工智能", "互联网", "芯片", "算法", "程序", "机器人", "数据库", "服务器",
          "应用", "平台", "系统", "屏幕", "电池", "工程师", "云计算", "智能家居", "操作系统", "技术", "用户", "设备",
          "信息"],
        &["足球", "篮球", "比赛", "运动员", "球队", "训练", "冠军", "健康", "跑步", "游泳", "教练", "球迷", "体育馆",
          "奥运会", "乒乓球", "羽毛球", "马拉松", "裁判", "联赛", "金牌", "体育", "俱乐部", "队员", "赛季", "太极拳"],
    ],
    verbs: &[
        "改变", "提高", "研究", "使用", "了解", "学习", "发展", "推动", "影响", "保护", "分析", "解决", "介绍",
        "体验", "讨论", "参观", "准备", "支持", "选择", "关注", "欣赏", "探索", "记录", "管理", "改善",
    ],
    adjs: &[
        "重要", "有趣", "复杂", "简单", "方便", "美丽", "丰富", "流行", "特别", "安全", "健康", "先进", "传统",
        "现代", "有名", "实用", "普遍", "热闹", "安静", "专业", "独特", "新鲜", "困难", "精彩", "温暖",
    ],
    advs: &[
        "认真地", "仔细地", "经常", "慢慢地", "努力地", "积极地", "轻松地", "不断地",
    ],
    names: &[
        "小明", "李老师", "王医生", "张先生", "刘女士", "陈教授", "赵阿姨", "小红", "孙经理", "周同学", "老王",
        "林记者",
    ],
    places: &[
        "北京", "上海", "广州", "深圳", "杭州", "成都", "西安", "南京", "武汉", "重庆", "苏州", "青岛", "昆明",
        "厦门", "天津",
    ],
    times: &[
        "今天", "昨天", "去年", "周末", "最近", "每天早上", "明年", "上个月", "春节期间", "暑假",
    ],
    clauses: &[
        "{N}是一种{A}的{N}", "{T}，{M}在{L}{V}了{N}", "{N}对{N}有着{A}的影响", "我们可以通过{N}来{V}{N}",
        "{M}认为{N}非常{A}", "{L}的{N}越来越{A}", "很多人喜欢在{L}{V}{N}", "{N}和{N}之间存在着密切的关系",
        "只有{V}好{N}，才能{V}{N}", "{N}、{N}和{N}都是{A}的{N}", "{N}的发展离不开{N}", "如果没有{N}，{N}就很难{V}",
        "{M}每天都会花一些时间{V}{N}", "在{L}，{N}已经成为人们生活中{A}的一部分", "{N}不仅{A}，而且{A}",
        "{N}的{N}正在发生变化", "{M}打算{T}去{L}{V}{N}", "专家建议大家{D}{V}{N}", "这种{N}在{L}很常见",
        "关于{N}的讨论一直没有停止", "{N}让{M}感到很{A}", "{M}{D}{V}了{N}和{N}", "我们应该更加{D}{V}{N}",
        "{L}有很多{A}的{N}", "这个{N}的{N}比以前{A}多了", "不少年轻人开始{V}{N}", "{M}在{L}的一家{N}公司工作",
        "{L}的{N}吸引了很多{N}", "{M}觉得{N}比{N}更{A}", "有人说{N}很{A}，也有人不同意", "{M}带着{N}来到了{L}",
        "{T}的{N}格外{A}", "{N}给{L}带来了新的{N}", "{M}和{M}一起{V}了{N}", "{N}其实并不{A}", "许多{N}都{D}{V}{N}",
    ],
    standalone: &[
        "{M}说：“这个{N}真的很{A}！”", "为什么{N}会变得越来越{A}呢？", "你知道{N}和{N}有什么区别吗？",
        "{M}问：“我们什么时候去{L}{V}{N}？”",
    ],
    openers: &[
        "近年来，", "总的来说，", "事实上，", "另外，", "同时，", "然而，", "因此，", "首先，", "其次，", "最后，",
        "众所周知，", "一般来说，", "值得注意的是，", "在这个过程中，", "从某种意义上说，", "{T}，",
    ],
    links: &[
        "，而且", "，但是", "，因为", "，所以", "；同时，", "，因此", "，不过", "，于是",
    ],
};

/// English terms used inside Chinese technical prose.
pub(crate) const TECH_TERMS: &[&str] = &[
    "Python", "PyTorch", "TensorFlow", "GitHub", "Docker", "Kubernetes", "Linux", "Rust", "GPU", "API", "JSON", "SQL",
    "Redis", "React", "Git", "Transformer", "CUDA",
];

/// Chinese clauses with English terms.
pub(crate) const ZH_TECH_CLAUSES: &[&str] = &[
    "我们使用 {E} 和 {E} 训练新的模型", "{E} 是一个非常流行的开源项目", "在 {E} 中，你可以很方便地{V}{N}",
    "这篇文章介绍如何用 {E} 部署{N}", "很多开发者更喜欢 {E}，因为它简单易用", "团队最近把{N}迁移到了 {E} 上",
    "如果 {E} 的版本太旧，{N}可能无法正常运行", "{M}在 GitHub 上分享了一个基于 {E} 的{N}",
];

/// Traditional Chinese nouns.
const HANT_NOUNS: &[&str] = &[
    "資料", "網路", "軟體", "電腦", "手機", "經濟", "歷史", "文化", "學校", "學生", "老師", "醫院", "醫生", "電影",
    "音樂", "圖書館", "捷運", "夜市", "颱風", "環境", "籃球", "棒球", "飲料", "珍珠奶茶", "餐廳", "問題", "機會",
    "技術", "設計", "藝術", "節日", "車站", "飛機", "風景", "觀光客", "資訊", "應用程式", "演算法", "雜誌", "報紙",
];

/// Traditional Chinese vocabulary (one noun list for all topics) and templates.
pub(crate) const HANT: ZhSet = ZhSet {
    nouns: [HANT_NOUNS; 6],
    verbs: &[
        "使用", "學習", "研究", "討論", "發展", "改變", "選擇", "參觀", "介紹", "分析", "處理", "準備", "體驗",
        "享受", "設計", "認識", "關心", "記錄",
    ],
    adjs: &[
        "重要", "有趣", "複雜", "簡單", "方便", "美麗", "豐富", "熱鬧", "特別", "安全", "實用", "傳統", "現代",
        "優秀", "專業", "親切", "舒適", "著名",
    ],
    advs: &["認真地", "仔細地", "經常", "慢慢地", "努力地"],
    names: &[
        "陳先生", "林小姐", "王老師", "張醫生", "李同學", "黃教授", "吳經理", "劉記者",
    ],
    places: &[
        "台北", "台中", "高雄", "台南", "香港", "新竹", "花蓮", "澳門", "基隆", "嘉義",
    ],
    times: &[
        "今天", "昨天", "去年", "週末", "最近", "每天早上", "明年", "上個月", "暑假",
    ],
    clauses: &[
        "{N}是一種{A}的{N}", "{T}，{M}在{L}{V}了{N}", "{N}對{N}有著{A}的影響", "我們可以透過{N}來{V}{N}",
        "{M}認為{N}非常{A}", "{L}的{N}越來越{A}", "很多人喜歡在{L}{V}{N}", "{N}和{N}之間存在著密切的關係",
        "只有{V}好{N}，才能{V}{N}", "{N}、{N}和{N}都是{A}的{N}", "{N}的發展離不開{N}", "如果沒有{N}，{N}就很難{V}",
        "{M}每天都會花一些時間{V}{N}", "在{L}，{N}已經成為人們生活中{A}的一部分", "{N}不僅{A}，而且{A}",
        "{M}打算{T}去{L}{V}{N}", "專家建議大家{D}{V}{N}", "這種{N}在{L}很常見", "關於{N}的討論一直沒有停止",
        "{N}讓{M}覺得很{A}", "這個{N}的{N}比以前{A}多了", "不少年輕人開始{V}{N}", "{L}的{N}吸引了很多{N}",
        "{M}覺得{N}比{N}更{A}", "{M}帶著{N}來到了{L}", "{T}的{N}格外{A}", "{N}給{L}帶來了新的{N}",
        "{M}和{M}一起{V}了{N}", "{N}其實並不{A}", "許多{N}都{D}{V}{N}",
    ],
    standalone: &[
        "{M}說：「這個{N}真的很{A}！」", "為什麼{N}會變得越來越{A}呢？", "你知道{N}和{N}有什麼區別嗎？",
    ],
    openers: &[
        "近年來，", "總的來說，", "事實上，", "另外，", "同時，", "然而，", "因此，", "首先，", "眾所周知，",
        "一般來說，", "值得注意的是，", "{T}，",
    ],
    links: &["，而且", "，但是", "，因為", "，所以", "；同時，", "，因此", "，不過"],
};

/// ja, ko, de, fr, es, ru (in `Lang` order): [templates, nouns, adjectives/predicates, verbs].
/// Korean particles are the invariant ones; de/fr/es nouns carry their article.
pub(crate) const SIMPLE: [[&[&str]; 4]; 6] = [
    [
        &["今日は{N}で{N}を{V}。", "この{N}はとても{A}です。", "私は毎日{N}について考えています。",
          "{N}の近くに新しい{N}があります。", "昨日、{N}と一緒に{N}へ行きました。",
          "日本の{N}は本当に{A}と思います。", "週末に{N}で{N}を{V}。", "{N}が好きな人はたくさんいます。",
          "先生は{N}について話しました。", "どうして{N}はそんなに{A}のでしょうか。"],
        &["東京", "学校", "会社", "電車", "天気", "料理", "映画", "友達", "日本語", "図書館", "公園", "駅", "旅行",
          "音楽", "仕事", "家族", "写真", "新聞", "お茶", "季節"],
        &["楽しい", "面白い", "難しい", "新しい", "美しい", "有名", "静か", "便利", "大切", "きれい"],
        &["食べました", "見ました", "読みました", "買いました", "勉強しました", "話しました", "作りました",
          "聞きました", "書きました", "探しました"],
    ],
    [
        &["오늘 {N}에서 친구를 만났습니다.", "저는 주말마다 {N}에 갑니다.", "이 {N}도 정말 {A}.",
          "{N}의 역사는 아주 깁니다.", "우리는 {N}에 대해 이야기했습니다.", "서울의 {N}도 많이 바뀌었습니다.",
          "요즘 {N}에 관심이 많습니다.", "어제 {N}에서 {N}까지 걸었습니다.", "한국의 {N}도 {A}.",
          "내일은 가족과 함께 {N}에 가려고 합니다."],
        &["학교", "회사", "친구", "음식", "영화", "도서관", "공원", "시장", "가족", "여행", "음악", "사진", "날씨",
          "커피", "서울", "지하철", "주말", "운동", "책", "한국어"],
        &["좋습니다", "중요합니다", "재미있습니다", "아름답습니다", "조용합니다", "편리합니다", "어렵습니다",
          "맛있습니다"],
        &[""],
    ],
    [
        &["{N} ist heute sehr {A}.", "Ich glaube, dass {N} wirklich {A} ist.", "In unserer Stadt ist {N} immer {A}.",
          "Jeder weiß, dass {N} nicht immer {A} ist.", "Am Wochenende war {N} leider sehr {A}.",
          "Meine Freunde sagen, {N} sei zu {A}.", "Warum ist {N} eigentlich so {A}?",
          "Seit vielen Jahren ist {N} hier sehr {A}.", "Wir haben gestern gehört, dass {N} jetzt {A} ist.",
          "Für viele Menschen ist {N} besonders {A}."],
        &["der Zug", "die Stadt", "das Buch", "der Garten", "die Schule", "das Wetter", "der Markt", "die Kirche",
          "das Museum", "der Bahnhof", "die Brücke", "das Essen", "der Lehrer", "die Familie", "das Konzert",
          "der Park", "die Zeitung", "das Haus"],
        &["schön", "wichtig", "interessant", "ruhig", "alt", "neu", "groß", "bekannt", "teuer", "modern", "sauber",
          "voll"],
        &[""],
    ],
    [
        &["{N} est vraiment {A} aujourd'hui.", "Je pense que {N} est très {A}.",
          "Dans notre région, {N} reste toujours {A}.", "Tout le monde sait que {N} est {A}.",
          "Pendant les vacances, {N} était très {A}.", "Mes amis disent que {N} est trop {A}.",
          "Pourquoi est-ce que {N} est si {A} ?", "Depuis quelques années, {N} devient de plus en plus {A}.",
          "Selon les habitants, {N} est assez {A}.", "Pour beaucoup de gens, {N} est particulièrement {A}."],
        &["le train", "la ville", "le livre", "le jardin", "l'école", "le marché", "la musique", "le musée",
          "la gare", "le pont", "la cuisine", "le village", "la plage", "le théâtre", "la bibliothèque",
          "le quartier"],
        &["agréable", "rapide", "célèbre", "magnifique", "simple", "moderne", "calme", "pratique", "utile",
          "tranquille", "énorme", "riche"],
        &[""],
    ],
    [
        &["{N} es muy {A} hoy.", "Creo que {N} es bastante {A}.", "En nuestra región, {N} siempre es {A}.",
          "Todo el mundo sabe que {N} es {A}.", "Durante las vacaciones, {N} era muy {A}.",
          "Mis amigos dicen que {N} es demasiado {A}.", "¿Por qué {N} es tan {A}?",
          "Desde hace algunos años, {N} es cada vez más {A}.", "Según los vecinos, {N} es realmente {A}.",
          "Para mucha gente, {N} es especialmente {A}."],
        &["el tren", "la ciudad", "el libro", "el jardín", "la escuela", "el mercado", "la música", "el museo",
          "la estación", "el puente", "la cocina", "el pueblo", "la playa", "el teatro", "la biblioteca", "el barrio"],
        &["grande", "importante", "interesante", "agradable", "fácil", "difícil", "popular", "alegre", "enorme",
          "útil", "verde", "increíble"],
        &[""],
    ],
    [
        &["Мне очень нравится {N}.", "Где находится {N}?", "У нас в районе есть {N}.", "Сегодня в городе очень {A}.",
          "Я думаю, что это очень {A}.", "Это {N}, и здесь всегда {A}.", "Каждый день {N} привлекает много людей.",
          "Все знают, что {N} находится недалеко от центра.", "Летом здесь особенно {A}.",
          "Вечером мы долго говорили, и было {A}."],
        &["город", "книга", "школа", "музей", "река", "поезд", "библиотека", "улица", "рынок", "парк", "театр",
          "погода", "музыка", "деревня", "станция", "газета"],
        &["интересно", "спокойно", "холодно", "тепло", "весело", "красиво", "удобно", "важно", "трудно", "приятно"],
        &[""],
    ],
];

/// English boilerplate: (top/navigation lines, bottom lines). A small pool repeated across many docs.
pub(crate) const BP_EN: [&[&str]; 2] = [
    &["Home | About | Contact", "Home | News | Blog | Contact Us", "Skip to main content"],
    &["This website uses cookies to ensure you get the best experience on our website.",
      "We use cookies to improve your experience. By continuing to browse, you agree to our use of cookies.",
      "© 2024 Example Inc. All rights reserved.", "Copyright © 2023 Example Media Group. All rights reserved.",
      "Read more", "Share this article: Facebook | Twitter | Email",
      "Subscribe to our newsletter for weekly updates.", "Privacy Policy | Terms of Service | Cookie Settings",
      "Back to top"],
];

/// Simplified Chinese boilerplate (top, bottom).
pub(crate) const BP_ZH: [&[&str]; 2] = [
    &["首页 | 关于我们 | 联系我们", "首页 > 新闻中心 > 正文", "当前位置：首页 > 资讯"],
    &["本网站使用Cookie以提升您的浏览体验，继续浏览即表示您同意我们使用Cookie。",
      "版权所有 © 2024 示例科技有限公司 保留所有权利", "上一篇：返回列表 下一篇：没有了", "阅读全文",
      "分享到：微信 | 微博 | QQ空间", "免责声明：本文仅代表作者观点，不代表本站立场。", "责任编辑：小编",
      "扫描二维码关注我们"],
];

/// Traditional Chinese boilerplate (top, bottom).
pub(crate) const BP_HANT: [&[&str]; 2] = [
    &["首頁 | 關於我們 | 聯絡我們"],
    &["版權所有 © 2024 範例科技有限公司", "本網站使用Cookie以提供更好的瀏覽體驗。", "上一篇 | 下一篇", "閱讀全文",
      "分享到：Facebook | LINE", "回到頂端"],
];

/// Defects planted in English documents.
pub(crate) const EN_DEFECTS: &[&str] = &[
    "short", "boilerplate_lines", "spam_keywords", "keyword_list", "repeated_lines", "repeated_ngrams", "symbol_heavy",
    "bullet_list", "ellipsis_lines", "no_punctuation", "lorem_ipsum", "javascript", "curly_braces", "garbled",
];

/// Defects planted in Simplified Chinese documents.
pub(crate) const ZH_DEFECTS: &[&str] = &[
    "short", "boilerplate_lines", "keyword_list", "repeated_lines", "repeated_ngrams", "symbol_heavy", "bullet_list",
    "ellipsis_lines", "no_punctuation", "lorem_ipsum", "javascript", "curly_braces", "bracket_spam", "ad_patterns",
    "garbled",
];

/// Defects planted in Traditional Chinese documents.
pub(crate) const HANT_DEFECTS: &[&str] = &[
    "short", "boilerplate_lines", "repeated_lines", "repeated_ngrams", "symbol_heavy", "bullet_list", "ellipsis_lines",
    "no_punctuation", "bracket_spam", "garbled",
];

/// Defects that make up the whole document and so are never combined with another.
pub(crate) const WHOLE_DOC_DEFECTS: &[&str] =
    &["short", "boilerplate_lines", "keyword_list", "bullet_list", "ellipsis_lines", "no_punctuation"];

/// English spam phrases.
pub(crate) const SPAM_EN: &[&str] = &[
    "buy cheap viagra", "online casino bonus", "free spins", "payday loans", "replica watches", "lose weight fast",
    "work from home", "click here", "limited offer", "100% free", "best price guaranteed", "crypto giveaway",
];

/// SEO keyword bases and modifiers: (English bases, English modifiers, Chinese bases, Chinese modifiers).
pub(crate) const SEO: [&[&str]; 4] = [
    &["running shoes", "cheap flights", "hotel deals", "car insurance", "weight loss", "phone case", "home loans"],
    &["best", "cheap", "buy", "online", "sale", "2024", "discount", "near me", "reviews", "free shipping"],
    &["手机", "减肥", "旅游攻略", "二手车", "装修", "英语培训", "网络游戏"],
    &["价格", "报价", "大全", "排行榜", "哪个好", "最新", "推荐", "官网", "下载", "免费"],
];

/// Chinese advertising phrases.
pub(crate) const ADS_ZH: &[&str] = &[
    "加微信领取优惠", "点击领取888元红包", "澳门赌场在线开户", "日赚千元不是梦", "代开发票请联系客服", "全网最低价",
    "限时免费领取", "扫码关注公众号", "添加客服微信立即咨询", "彩票平台注册就送",
];

/// Chinese bracket tags for 【】 spam.
pub(crate) const BRACKET_TAGS: &[&str] = &[
    "【官方正品】", "【包邮】", "【限时特价】", "【爆款】", "【热卖】", "【清仓】", "【秒杀】", "【新品上市】",
    "【厂家直销】", "【买一送一】",
];

/// Repeated-n-gram phrases (English, Chinese).
pub(crate) const REPEAT_PHRASES: [&[&str]; 2] = [
    &["best price", "click here now", "buy now", "top rated deal", "free shipping today", "hot deal"],
    &["最新消息", "好消息", "点赞关注", "限时优惠", "赶快行动"],
];

/// Lorem ipsum lines.
pub(crate) const LOREM: &[&str] = &[
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
    "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.",
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.",
];

/// JavaScript residue lines (English, Chinese); deliberately free of curly braces.
pub(crate) const JS_LINES: [&[&str]; 2] = [
    &["Please enable JavaScript to view the comments powered by Disqus.",
      "You need to enable JavaScript to run this app.", "var _gaq = _gaq || [];",
      "window.dataLayer = window.dataLayer || [];", "document.getElementById('app').innerHTML = '';",
      "This site requires JavaScript. Please turn on JavaScript in your browser settings."],
    &["请启用 JavaScript 以获得最佳浏览体验。", "您的浏览器禁用了JavaScript，部分功能无法使用。",
      "window.dataLayer = window.dataLayer || [];", "var _hmt = _hmt || [];"],
];

/// Template residue with curly braces (English, Chinese).
pub(crate) const CURLY_LINES: [&[&str]; 2] = [
    &["{{ article.title }}", "{% block content %}{% endblock %}",
      "Hello, {username}! Your order {order_id} has shipped.", ".menu { display: none; }",
      "{\"status\": \"ok\", \"items\": []}"],
    &["欢迎您，{{ user.nickname }}！", "{% include 'footer.html' %}", "您的订单 {order_id} 已发货。",
      "{\"code\": 0, \"msg\": \"成功\"}"],
];

/// Accented text whose UTF-8 bytes read as cp1252 give mojibake.
pub(crate) const ACCENTED: &[&str] = &[
    "Le café est très chaud et délicieux.", "Die Straße ist für Fußgänger geöffnet.",
    "Él está en la montaña más alta.", "A naïve résumé, déjà vu and crème brûlée.",
    "“Smart quotes” — and dashes – everywhere…",
];

/// Chinese garbage seen when bytes are decoded with the wrong charset.
pub(crate) const GARBLE_ZH: &[&str] = &["锟斤拷", "烫烫烫", "屯屯屯", "锟斤拷锟斤拷"];

/// Footers appended by near-duplicate edits (English, Chinese).
pub(crate) const FOOTERS: [&[&str]; 2] = [
    &["This article was updated with additional reporting.",
      "Editor's note: some details were corrected after publication."],
    &["（本文有删改）", "本文转载自网络，如有侵权请联系删除。"],
];

/// Characters substituted into Chinese near duplicates.
pub(crate) const ZH_EDIT_CHARS: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经";

/// Domains for URLs, by language code order of `text::Lang`.
pub(crate) const DOMAINS: [&[&str]; 9] = [
    &["news.example.com", "blog.example.org", "www.example.net", "daily-reader.example", "kitchen-notes.example",
      "travelwise.example", "tech-journal.example", "sportsdesk.example"],
    &["news.example.cn", "www.zixun.example", "bbs.example.com.cn", "blog.example.cn", "m.toutiao.example"],
    &["www.example.tw", "news.example.hk"],
    &["www.example.jp"],
    &["news.example.kr"],
    &["www.example.de"],
    &["www.example.fr"],
    &["www.example.es"],
    &["www.example.ru"],
];

/// Email user names and domains for PII.
pub(crate) const EMAIL_PARTS: [&[&str]; 3] = [
    &["alice", "bob", "wei", "li", "carol", "min", "david", "jing", "tom", "xiao"],
    &["wang", "zhang", "smith", "chen", "brown", "liu", "garcia", "zhao", "lee", "taylor"],
    &["example.com", "example.org", "mail.example.net", "test.example.cn"],
];

/// Chinese ID region codes.
pub(crate) const CN_REGIONS: &[&str] = &[
    "110105", "110108", "310104", "310115", "440305", "440106", "330106", "510107", "420106", "320102",
];

/// Chinese mobile prefixes.
pub(crate) const CN_MOBILE: &[&str] = &[
    "130", "131", "135", "136", "137", "138", "139", "150", "152", "158", "159", "176", "177", "180", "182", "186",
    "188", "189", "198", "199",
];

/// PII sentence templates `(kind, english, chinese)`; `{v}` is the value, "" means not used.
pub(crate) const PII_TEMPLATES: &[(&str, &str, &str)] = &[
    ("email", "You can reach me at {v} if you have any questions.", "我的邮箱是 {v}，欢迎来信交流。"),
    ("ipv4", "The test server at {v} was restarted last night.", "服务器地址是 {v}，请不要随意修改。"),
    ("ipv6", "The service also listens on the IPv6 address {v} for internal traffic.", "内网也支持 IPv6 地址 {v}。"),
    ("phone_intl", "Call our front desk at {v} for reservations.", "海外客户可以拨打 {v} 咨询。"),
    ("phone_cn_mobile", "His mobile number in Shanghai is {v}.", "如有疑问请联系 {v}，工作日全天在线。"),
    ("cn_id", "Her Chinese resident ID number {v} is printed on the visa form.", "报名时需填写身份证号码：{v}。"),
    ("bank_card", "The payment was made with card {v} last month.", "银行卡号：{v}，开户行为招商银行。"),
];

/// PII look-alike templates `(kind, english, chinese)`.
pub(crate) const DECOY_TEMPLATES: &[(&str, &str, &str)] = &[
    ("version", "Please upgrade to version {v} before installing the plugin.", "请先升级到 {v} 版本再安装插件。"),
    ("date", "The meeting was moved to {v} because of the holiday.", "会议改到 {v} 举行。"),
    ("git_hash", "The bug was fixed in commit {v} last week.", "该问题已在提交 {v} 中修复。"),
    ("order_number", "Your order number is {v}, please keep it.", "您的订单号是 {v}，请妥善保存。"),
    ("cn_id_invalid", "The sample form shows the ID number {v} as an example.", "示例身份证号 {v} 仅用于演示。"),
];
