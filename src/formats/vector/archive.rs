//! A zip of layers: every Shapefile, GeoJSON and `GeoPackage` in it, in any folder,
//! unpacked into memory within the byte limit. Member names are decoded as UTF-8 when
//! they are, else as GBK: Chinese Windows zip tools write GBK names without the
//! UTF-8 flag, which the `zip` crate would read as code page 437.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use encoding_rs::GBK;

use super::shp::{self, Files};
use super::{Budget, Outcome, VectorError, gpkg, json};

/// An unpacked member.
#[derive(Debug)]
struct Member {
    /// Its path in the zip, decoded.
    name: String,
    bytes: Vec<u8>,
}

/// Reads every layer of a zip; `zip_name` names it.
pub(super) fn read(
    zip_name: &str,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<Vec<Outcome>, VectorError> {
    let members = unpack(zip_name, bytes, budget)?;
    let by_name: HashMap<String, usize> = members
        .iter()
        .enumerate()
        .map(|(index, member)| (member.name.to_ascii_lowercase(), index))
        .collect();
    let mut outcomes = Vec::new();
    for member in &members {
        let source = format!("{zip_name}!/{}", member.name);
        match extension(&member.name).as_str() {
            "shp" => {
                // The extension is ASCII, so its 4 bytes end on a character boundary.
                let stem = &member.name[..member.name.len() - 4];
                let sibling = |extension: &str| {
                    by_name
                        .get(&format!("{stem}.{extension}").to_ascii_lowercase())
                        .map(|&index| members[index].bytes.as_slice())
                };
                let Some(dbf) = sibling("dbf") else {
                    return Err(VectorError::Missing {
                        missing: format!("{zip_name}!/{stem}.dbf"),
                        file: source,
                    });
                };
                let files = Files {
                    shp: &member.bytes,
                    shx: sibling("shx"),
                    dbf,
                    prj: sibling("prj"),
                    cpg: sibling("cpg"),
                };
                outcomes.push(shp::read(&source, files, budget)?);
            }
            "geojson" | "json" => outcomes.push(json::read(&source, &member.bytes, budget)?),
            "gpkg" => outcomes.extend(gpkg::read(&source, &member.bytes, budget)?),
            _ => {}
        }
    }
    Ok(outcomes)
}

/// The extension of a member's name, in lower case.
fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether a member is one this module reads: macOS's resource forks (`__MACOSX/`,
/// `._x.shp`) carry the same extensions and are not.
fn is_wanted(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    matches!(
        extension(name).as_str(),
        "shp" | "shx" | "dbf" | "prj" | "cpg" | "geojson" | "json" | "gpkg"
    ) && !name.starts_with("__MACOSX/")
        && !base.starts_with("._")
}

/// A member's name: UTF-8 if it is, else GBK.
pub(super) fn member_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        Err(_) => GBK.decode_without_bom_handling(raw).0.into_owned(),
    }
}

/// Unpacks the members this module reads. The sizes the central directory declares
/// are summed first, so that a bomb is refused before anything is unpacked; then each
/// member is read through a `take` at what is left of the budget, since a declared
/// size may lie.
fn unpack(zip_name: &str, bytes: &[u8], budget: &mut Budget) -> Result<Vec<Member>, VectorError> {
    let zip_error = |file: &str, error: zip::result::ZipError| VectorError::Zip {
        file: file.to_owned(),
        reason: error.to_string(),
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|error| zip_error(zip_name, error))?;
    let mut wanted = Vec::new();
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|error| zip_error(zip_name, error))?;
        let name = member_name(entry.name_raw());
        if entry.is_dir() || !is_wanted(&name) {
            continue;
        }
        declared = declared.saturating_add(entry.size());
        wanted.push((index, name));
    }
    if declared > budget.bytes_left() {
        return Err(VectorError::Bytes {
            file: zip_name.to_owned(),
            limit: budget.limits.bytes,
        });
    }
    let mut members = Vec::with_capacity(wanted.len());
    for (index, name) in wanted {
        let file = format!("{zip_name}!/{name}");
        let entry = archive
            .by_index(index)
            .map_err(|error| zip_error(&file, error))?;
        let left = budget.bytes_left();
        let mut data = Vec::with_capacity(usize::try_from(entry.size().min(left)).unwrap_or(0));
        entry
            .take(left.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|source| VectorError::Io {
                file: file.clone(),
                source,
            })?;
        budget.take_bytes(&file, data.len() as u64)?;
        members.push(Member { name, bytes: data });
    }
    Ok(members)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn gbk_member_names_are_decoded() {
        let raw = GBK.encode("数据/村界.shp").0;
        assert_ne!(std::str::from_utf8(&raw).ok(), Some("数据/村界.shp"));
        assert_eq!(member_name(&raw), "数据/村界.shp");
        assert_eq!(member_name("村界.shp".as_bytes()), "村界.shp");
    }

    #[test]
    fn resource_forks_and_other_files_are_skipped() {
        assert!(is_wanted("data/村界.SHP"));
        assert!(is_wanted("x.gpkg"));
        assert!(!is_wanted("__MACOSX/data/._村界.shp"));
        assert!(!is_wanted("data/._村界.shp"));
        assert!(!is_wanted("data/村界.sbn"));
        assert!(!is_wanted("readme"));
    }
}
