//! Whether an object is in a repository's own object store, without starting git: a loose
//! object's file, or an entry of one of its pack indexes (version 2), found with a binary search
//! of a few positioned reads, never by reading a whole index (a large repository's indexes are
//! hundreds of megabytes). Objects borrowed through `objects/info/alternates`, or listed only by
//! a multi-pack index, are not seen: the caller then asks git.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Whether the object `id` (a full hex id) is stored in `<common>/objects`.
pub(crate) fn object_is_stored(common: &Path, id: &str) -> bool {
    if !crate::refs::is_object_id(id) {
        return false;
    }
    let objects = common.join("objects");
    if objects.join(&id[..2]).join(&id[2..]).is_file() {
        return true;
    }
    let Some(wanted) = decode_hex(id) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(objects.join("pack")) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        path.extension().is_some_and(|x| x == "idx")
            && File::open(&path).is_ok_and(|idx| pack_index_has(&idx, &wanted))
    })
}

/// The start of a version-2 pack index.
const MAGIC: [u8; 8] = [0xff, b't', b'O', b'c', 0, 0, 0, 2];
/// The fan-out table: 256 big-endian counts, after the magic.
const FANOUT_AT: u64 = 8;
/// The sorted object ids, after the fan-out table.
const IDS_AT: u64 = FANOUT_AT + 256 * 4;

/// Whether the version-2 pack index `idx` lists `id`.
fn pack_index_has(idx: &File, id: &[u8]) -> bool {
    let mut magic = [0u8; 8];
    if idx.read_exact_at(&mut magic, 0).is_err() || magic != MAGIC {
        return false;
    }
    let count_before = |byte: usize| -> Option<u64> {
        if byte == 0 {
            return Some(0);
        }
        let mut count = [0u8; 4];
        idx.read_exact_at(&mut count, FANOUT_AT + 4 * (byte as u64 - 1))
            .ok()?;
        Some(u64::from(u32::from_be_bytes(count)))
    };
    let Some(&first) = id.first() else {
        return false;
    };
    let first = usize::from(first);
    let (Some(mut low), Some(mut high)) = (count_before(first), count_before(first + 1)) else {
        return false;
    };
    let len = id.len() as u64;
    let mut candidate = vec![0u8; id.len()];
    while low < high {
        let mid = low + (high - low) / 2;
        if idx
            .read_exact_at(&mut candidate, IDS_AT + mid * len)
            .is_err()
        {
            return false;
        }
        match candidate.as_slice().cmp(id) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
        }
    }
    false
}

/// The bytes of a hex string.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_repo::{TestRepo, git};

    #[test]
    fn loose_and_packed_objects_are_found_and_others_are_not() {
        let t = TestRepo::new("main");
        for n in 0..40 {
            t.commit_file(&format!("f{n}.txt"), &format!("{n}\n"));
        }
        let common = t.root.join(".git");
        let ids: Vec<String> = git(&t.root, &["rev-list", "--all", "--objects"])
            .lines()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect();
        assert!(ids.len() > 80);
        assert!(ids.iter().all(|id| object_is_stored(&common, id)), "loose");
        git(&t.root, &["gc", "--quiet"]);
        let loose = git(&t.root, &["count-objects"]);
        assert!(loose.starts_with("0 objects"), "{loose}");
        assert!(ids.iter().all(|id| object_is_stored(&common, id)), "packed");
        for absent in [
            "0".repeat(40),
            "f".repeat(40),
            format!("{}0", &ids[0][..39]),
        ] {
            if !ids.contains(&absent) {
                assert!(!object_is_stored(&common, &absent), "{absent}");
            }
        }
        assert!(!object_is_stored(&common, "main"));
        assert!(!object_is_stored(&common, &ids[0][..39]));
    }

    #[test]
    fn a_truncated_or_foreign_index_finds_nothing_and_never_panics() {
        let t = TestRepo::new("main");
        git(&t.root, &["gc", "--quiet"]);
        let head = git(&t.root, &["rev-parse", "HEAD"]).trim().to_string();
        let pack = t.root.join(".git/objects/pack");
        let idx = std::fs::read_dir(&pack)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .unwrap();
        let whole = std::fs::read(&idx).unwrap();
        let copy = pack.join("copy.idx");
        for cut in [0, 7, 8, 500, 1032, 1040, whole.len() / 2] {
            std::fs::write(&copy, &whole[..cut]).unwrap();
            let file = File::open(&copy).unwrap();
            let wanted = decode_hex(&head).unwrap();
            assert!(
                !pack_index_has(&file, &wanted) || cut > 1032,
                "cut at {cut}"
            );
        }
        std::fs::write(&copy, b"not an index at all").unwrap();
        assert!(!pack_index_has(
            &File::open(&copy).unwrap(),
            &decode_hex(&head).unwrap()
        ));
    }
}
