//! Finding a font that can draw Chinese.
//!
//! Maps and charts are read in Simplified Chinese, and a font without the glyphs
//! draws empty boxes without complaint; so every candidate is opened and checked
//! for real glyphs, and when none qualifies rendering fails with
//! [`RenderError::NoCjkFont`], which says what was searched and how to fix it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use ab_glyph::{Font, FontRef};

use super::RenderError;

/// Environment variable naming a font file to use instead of searching.
pub const FONT_ENV: &str = "PAICHA_CJK_FONT";

/// Text a font must be able to draw to be used: the county's name, and the
/// words that every map and chart writes itself.
pub const PROBE_TEXT: &str = "新宾满族自治县无数据北公里个";

/// Where Debian's Chinese font packages put their fonts, best first.
pub const KNOWN_PATHS: &[&str] = &[
    // fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    // fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    // fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    // fonts-droid-fallback
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
    // fonts-noto-cjk (serif), fonts-arphic-uming
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// Folders scanned when no known path has a usable font.
pub const SCAN_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

/// Parts of file names (lower case) that mark a font file as likely Chinese.
const SCAN_NAME_HINTS: &[&str] = &[
    "cjk",
    "wenquanyi",
    "wqy",
    "sourcehansans",
    "sourcehanserif",
    "notosanssc",
    "notoserifsc",
    "droidsansfallback",
];

/// Font file extensions considered when scanning.
const FONT_EXTENSIONS: &[&str] = &["ttf", "otf", "ttc", "otc"];

/// Generic families appended to the family in SVG output, so that a viewer
/// without the exact font still picks a Chinese one rather than drawing boxes.
const CSS_FALLBACKS: &str =
    "Source Han Sans SC, PingFang SC, Microsoft YaHei, WenQuanYi Zen Hei, sans-serif";

/// A font, checked to have Chinese glyphs, loaded for drawing.
///
/// Cheap to clone: the font data is loaded once per file and face and kept for
/// the life of the process (the drawing library needs it `'static`).
#[derive(Clone)]
pub struct CjkFont {
    /// The font file.
    pub path: PathBuf,
    /// The family name from the font's name table, e.g. "Noto Sans CJK SC".
    pub family: String,
    /// Which face of a collection (.ttc) is used; 0 for a single font.
    pub face_index: u32,
    /// The face as a standalone font file (a collection's face is extracted).
    data: &'static [u8],
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont")
            .field("path", &self.path)
            .field("family", &self.family)
            .field("face_index", &self.face_index)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl CjkFont {
    /// The face's data as a standalone font file.
    #[must_use]
    pub fn data(&self) -> &'static [u8] {
        self.data
    }

    /// The CSS font-family list written into SVG: the family, then common
    /// Chinese fonts and `sans-serif`.
    #[must_use]
    pub fn css_family(&self) -> String {
        format!("{}, {CSS_FALLBACKS}", self.family)
    }

    /// The characters of `text` that the font has no glyph for (whitespace and
    /// control characters are not drawn and never count).
    #[cfg(test)]
    #[must_use]
    pub fn missing_glyphs(&self, text: &str) -> Vec<char> {
        let Ok(font) = FontRef::try_from_slice(self.data) else {
            return text.chars().collect();
        };
        let mut out: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control() && font.glyph_id(*c).0 == 0)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Finds a font that can draw Chinese.
///
/// If `PAICHA_CJK_FONT` is set, that file alone is tried, so that a mistake in
/// it is reported rather than papered over by another font. Otherwise
/// [`KNOWN_PATHS`] in order, then font files under [`SCAN_DIRS`] whose names
/// suggest Chinese (CJK, `WenQuanYi`, wqy, `SourceHanSans`, `NotoSansSC` …). Of a
/// collection, the Simplified Chinese face is preferred.
///
/// Loading reads the font file (about 20 MB for Noto CJK): call once at start-up
/// and keep the [`CjkFont`].
///
/// # Errors
/// [`RenderError::NoCjkFont`] listing every place searched and why each failed.
pub fn discover() -> Result<CjkFont, RenderError> {
    let explicit = std::env::var_os(FONT_ENV).map(PathBuf::from);
    discover_with(explicit.as_deref())
}

/// [`discover`] with the value of `PAICHA_CJK_FONT` given rather than read from
/// the environment.
///
/// # Errors
/// [`RenderError::NoCjkFont`] as for [`discover`].
pub fn discover_with(explicit: Option<&Path>) -> Result<CjkFont, RenderError> {
    let mut searched = Vec::new();
    if let Some(path) = explicit {
        return match try_font(path) {
            Ok(font) => Ok(font),
            Err(why) => {
                searched.push(format!("{} (from {FONT_ENV}): {why}", path.display()));
                Err(RenderError::NoCjkFont { searched })
            }
        };
    }
    searched.push(format!("{FONT_ENV}: not set"));
    for known in KNOWN_PATHS {
        let path = Path::new(known);
        if !path.exists() {
            searched.push(format!("{known}: not present"));
            continue;
        }
        match try_font(path) {
            Ok(font) => return Ok(font),
            Err(why) => searched.push(format!("{known}: {why}")),
        }
    }
    for dir in SCAN_DIRS {
        let mut found = Vec::new();
        scan(Path::new(dir), 0, &mut found);
        found.sort();
        found.retain(|p| !KNOWN_PATHS.iter().any(|k| Path::new(k) == p));
        if found.is_empty() {
            searched.push(format!(
                "{dir} (scanned): no font file named like CJK, WenQuanYi, wqy, \
                 SourceHanSans or NotoSansSC"
            ));
        }
        for path in found {
            match try_font(&path) {
                Ok(font) => return Ok(font),
                Err(why) => searched.push(format!("{}: {why}", path.display())),
            }
        }
    }
    Err(RenderError::NoCjkFont { searched })
}

/// Tries the given files in order and returns the first usable one.
///
/// # Errors
/// [`RenderError::NoCjkFont`] naming each file and why it was refused.
#[cfg(test)]
pub fn discover_from(paths: &[PathBuf]) -> Result<CjkFont, RenderError> {
    let mut searched = Vec::new();
    for path in paths {
        match try_font(path) {
            Ok(font) => return Ok(font),
            Err(why) => searched.push(format!("{}: {why}", path.display())),
        }
    }
    Err(RenderError::NoCjkFont { searched })
}

/// Collects font files under `dir` whose names suggest Chinese. Symbolic links
/// to folders are not followed, so a link cycle cannot trap the scan.
fn scan(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    const MAX_DEPTH: usize = 8;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                scan(&path, depth + 1, found);
            }
            continue;
        }
        if !(kind.is_file() || (kind.is_symlink() && path.is_file())) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_lowercase();
        let font_ext = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| FONT_EXTENSIONS.contains(&e.to_lowercase().as_str()));
        if font_ext && SCAN_NAME_HINTS.iter().any(|h| name.contains(h)) {
            found.push(path);
        }
    }
}

/// Identifies a loaded file, so that a font changed on disk is loaded afresh.
#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

/// A loaded font: the chosen face as a standalone font, and its names.
#[derive(Clone)]
struct Loaded {
    family: String,
    face_index: u32,
    data: &'static [u8],
}

/// Fonts loaded so far. Each is leaked once (the drawing library keeps fonts
/// `'static`); the cache keeps repeated discovery from leaking again.
fn cache() -> &'static Mutex<HashMap<CacheKey, Loaded>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Loaded>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Opens `path` and checks it; the error says, in a few words, why it is unusable.
fn try_font(path: &Path) -> Result<CjkFont, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open: {e}"))?;
    if !meta.is_file() {
        return Err("not a file".to_owned());
    }
    let key = CacheKey {
        path: path.to_path_buf(),
        len: meta.len(),
        modified: meta.modified().ok(),
    };
    let cached = cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
        .cloned();
    let loaded = if let Some(loaded) = cached {
        loaded
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        let loaded = load(&bytes)?;
        cache()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, loaded.clone());
        loaded
    };
    Ok(CjkFont {
        path: path.to_path_buf(),
        family: loaded.family,
        face_index: loaded.face_index,
        data: loaded.data,
    })
}

/// Picks the best face of a font file or collection that has every glyph of
/// [`PROBE_TEXT`], and makes it a standalone font.
fn load(bytes: &[u8]) -> Result<Loaded, String> {
    let faces = ttf_parser::fonts_in_collection(bytes).unwrap_or(1);
    let mut best: Option<(u32, u32, String)> = None;
    let mut lacking = Vec::new();
    for index in 0..faces {
        let Ok(font) = FontRef::try_from_slice_and_index(bytes, index) else {
            continue;
        };
        let missing: String = PROBE_TEXT
            .chars()
            .filter(|c| font.glyph_id(*c).0 == 0)
            .collect();
        let family = ttf_parser::Face::parse(bytes, index)
            .ok()
            .and_then(|face| family_name(&face))
            .unwrap_or_else(|| format!("face {index}"));
        if !missing.is_empty() {
            lacking.push(format!("{family} has no glyph for {missing}"));
            continue;
        }
        let score = face_score(&family);
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, index, family));
        }
    }
    let Some((_, face_index, family)) = best else {
        return Err(if lacking.is_empty() {
            "not a font file (no TrueType/OpenType face could be read)".to_owned()
        } else {
            format!("no Chinese glyphs ({})", lacking.join("; "))
        });
    };
    let standalone = if ttf_parser::fonts_in_collection(bytes).is_some() {
        extract_face(bytes, face_index)
            .ok_or_else(|| format!("face {face_index} of the collection is malformed"))?
    } else {
        bytes.to_vec()
    };
    // The drawing library opens face 0 of what it is given: check that the
    // extracted face is what was chosen, glyphs and all.
    let check = FontRef::try_from_slice(&standalone)
        .map_err(|_| format!("face {face_index} could not be extracted"))?;
    if PROBE_TEXT.chars().any(|c| check.glyph_id(c).0 == 0) {
        return Err(format!("face {face_index} lost its glyphs when extracted"));
    }
    Ok(Loaded {
        family,
        face_index,
        data: Box::leak(standalone.into_boxed_slice()),
    })
}

/// Prefers the Simplified Chinese face of a pan-CJK collection (whose other faces
/// draw some characters the Japanese or Korean way), and proportional faces to
/// monospaced ones.
fn face_score(family: &str) -> u32 {
    let upper = family.to_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let mut score = 0;
    if words
        .iter()
        .any(|w| matches!(*w, "SC" | "CN" | "GB" | "HANS") || w.contains("SIMPLIFIED"))
    {
        score += 2;
    }
    if !upper.contains("MONO") {
        score += 1;
    }
    score
}

/// The family name of a face, from the typographic family (name 16) or the
/// family (name 1), in English where there is one.
fn family_name(face: &ttf_parser::Face<'_>) -> Option<String> {
    const TYPOGRAPHIC_FAMILY: u16 = 16;
    let mut fallback = None;
    for wanted in [TYPOGRAPHIC_FAMILY, ttf_parser::name_id::FAMILY] {
        for name in face.names() {
            if name.name_id != wanted {
                continue;
            }
            let Some(text) = name.to_string() else {
                continue;
            };
            if name.language() == ttf_parser::Language::English_UnitedStates {
                return Some(text);
            }
            fallback.get_or_insert(text);
        }
        if fallback.is_some() {
            return fallback;
        }
    }
    fallback
}

/// Copies face `index` of a font collection into a standalone font file: the
/// face's table directory, then each table it points to, at new offsets.
fn extract_face(bytes: &[u8], index: u32) -> Option<Vec<u8>> {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let header = u32_at(12 + 4 * index as usize)? as usize;
    let tables = usize::from(u16_at(header + 4)?);
    let directory_len = 12 + 16 * tables;
    let mut out = Vec::with_capacity(bytes.len() / 2);
    out.extend_from_slice(bytes.get(header..header + directory_len)?);
    for t in 0..tables {
        let record = header + 12 + 16 * t;
        let offset = u32_at(record + 8)? as usize;
        let len = u32_at(record + 12)? as usize;
        let data = bytes.get(offset..offset.checked_add(len)?)?;
        while out.len() % 4 != 0 {
            out.push(0);
        }
        let new_offset = u32::try_from(out.len()).ok()?;
        let field = 12 + 16 * t + 8;
        out[field..field + 4].copy_from_slice(&new_offset.to_be_bytes());
        out.extend_from_slice(data);
    }
    Some(out)
}

/// The message of [`RenderError::NoCjkFont`].
pub(super) fn no_font_message(searched: &[String]) -> String {
    let mut out = String::from(
        "cannot draw Chinese text: no font with Chinese (CJK) glyphs was found, \
         and drawing with another font would show empty boxes instead of characters. \
         Searched:",
    );
    for s in searched {
        let _ = write!(out, "\n  - {s}");
    }
    let _ = write!(
        out,
        "\nInstall Debian's fonts-noto-cjk package (apt-get install fonts-noto-cjk), \
         or set {FONT_ENV} to a .ttf, .otf or .ttc font file that has Chinese glyphs."
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn discovers_a_font_that_draws_chinese() {
        let font = discover_with(None).unwrap();
        assert!(
            font.missing_glyphs("新宾满族自治县 各村 居住危房 比例")
                .is_empty()
        );
        assert!(!font.family.is_empty());
        // Twice gives the same leaked data, not a second copy.
        let again = discover_with(None).unwrap();
        assert!(std::ptr::eq(font.data(), again.data()));
    }

    #[test]
    fn collection_prefers_the_simplified_chinese_face() {
        let noto = Path::new(KNOWN_PATHS[0]);
        if !noto.exists() {
            return;
        }
        let font = discover_from(&[noto.to_path_buf()]).unwrap();
        assert_eq!(font.family, "Noto Sans CJK SC");
        assert_ne!(font.face_index, 0);
        assert!(font.css_family().starts_with("Noto Sans CJK SC, "));
    }

    #[test]
    fn a_non_font_file_from_the_environment_is_named_in_the_error() {
        let dir = std::env::temp_dir().join(format!("paicha-font-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bogus = dir.join("not-a-font.ttf");
        std::fs::write(&bogus, b"this is not a font").unwrap();
        let err = discover_with(Some(&bogus)).unwrap_err();
        let message = err.to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(err, RenderError::NoCjkFont { .. }));
        assert!(message.contains(&bogus.display().to_string()), "{message}");
        assert!(message.contains(FONT_ENV), "{message}");
        assert!(message.contains("not a font file"), "{message}");
        assert!(message.contains("cannot draw Chinese text"), "{message}");
        assert!(message.contains("fonts-noto-cjk"), "{message}");
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let missing = PathBuf::from("/nonexistent/paicha/font.ttc");
        let err = discover_from(std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/paicha/font.ttc: cannot open")
        );
    }

    #[test]
    fn a_font_without_chinese_glyphs_is_skipped() {
        // DejaVu is on most Debian systems; without it there is nothing to check.
        let latin = PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        if !latin.exists() {
            return;
        }
        let message = discover_from(std::slice::from_ref(&latin))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("DejaVu Sans has no glyph for"),
            "{message}"
        );
        // A usable font after it is still found.
        let font = discover_with(None).unwrap();
        let found = discover_from(&[latin, font.path.clone()]).unwrap();
        assert_eq!(found.path, font.path);
    }

    #[test]
    fn scanning_finds_font_files_named_like_chinese_ones() {
        let dir = std::env::temp_dir().join(format!("paicha-font-scan-{}", std::process::id()));
        let nested = dir.join("truetype").join("wqy");
        std::fs::create_dir_all(&nested).unwrap();
        for name in ["wqy-zenhei.ttc", "README.wqy", "DejaVuSans.ttf"] {
            std::fs::write(nested.join(name), b"x").unwrap();
        }
        std::fs::write(dir.join("NotoSansCJKsc-Regular.OTF"), b"x").unwrap();
        let mut found = Vec::new();
        scan(&dir, 0, &mut found);
        found.sort();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            found,
            vec![
                dir.join("NotoSansCJKsc-Regular.OTF"),
                nested.join("wqy-zenhei.ttc")
            ]
        );
    }

    #[test]
    fn face_scores() {
        assert!(face_score("Noto Sans CJK SC") > face_score("Noto Sans CJK JP"));
        assert!(face_score("Noto Sans CJK SC") > face_score("Noto Sans Mono CJK SC"));
        assert!(face_score("WenQuanYi Zen Hei") > face_score("WenQuanYi Zen Hei Mono"));
    }
}
